using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Anima.Llm.Gguf;

namespace Anima.Llm.Conversion;

/// <summary>The header of a llama2.c checkpoint (seven little-endian int32 values).</summary>
public sealed record Llama2cHeader(int Dimension, int HiddenDimension, int LayerCount, int HeadCount, int KeyValueHeadCount, int VocabularySize, int SequenceLength, bool SharedClassifier)
{
    public int HeadSize => Dimension / HeadCount;

    public int KeyValueDimension => Dimension * KeyValueHeadCount / HeadCount;

    public static Llama2cHeader Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 28)
        {
            throw new InvalidDataException("A llama2.c checkpoint starts with a 28-byte header; the file is shorter.");
        }

        var values = MemoryMarshal.Cast<byte, int>(bytes[..28]);
        var vocabulary = values[5];
        var header = new Llama2cHeader(values[0], values[1], values[2], values[3], values[4], Math.Abs(vocabulary), values[6], vocabulary > 0);
        if (header.Dimension <= 0 || header.HiddenDimension <= 0 || header.LayerCount <= 0 || header.HeadCount <= 0 || header.KeyValueHeadCount <= 0
            || header.VocabularySize <= 0 || header.SequenceLength <= 0 || header.Dimension % header.HeadCount != 0 || header.HeadCount % header.KeyValueHeadCount != 0
            || header.Dimension > 1 << 16 || header.LayerCount > 1024 || header.VocabularySize > 1 << 20)
        {
            throw new InvalidDataException($"Not a llama2.c checkpoint: implausible header {header}.");
        }

        return header;
    }
}

/// <summary>
/// Converts a llama2.c checkpoint (<c>run.c</c>'s format: a header and float32 weights) and its
/// <c>tokenizer.bin</c> into a GGUF file of architecture <c>llama</c> with a SentencePiece-style
/// vocabulary. llama2.c rotates adjacent pairs, as llama GGUF files do, so the weights are copied as they are.
/// </summary>
public static class Llama2cConverter
{
    public static void Convert(string checkpointPath, string tokenizerPath, string outputPath, IProgress<double>? progress = null)
    {
        var checkpoint = File.ReadAllBytes(checkpointPath);
        var header = Llama2cHeader.Read(checkpoint);
        var floats = MemoryMarshal.Cast<byte, float>(checkpoint.AsSpan(28, (checkpoint.Length - 28) / 4 * 4)).ToArray();
        var (tokens, scores, types) = ReadTokenizer(tokenizerPath, header.VocabularySize);

        var dim = header.Dimension;
        var hidden = header.HiddenDimension;
        var layers = header.LayerCount;
        var kvDim = header.KeyValueDimension;
        long expected = (long)header.VocabularySize * dim + layers * (2L * dim + 2L * dim * dim + 2L * dim * kvDim + 3L * dim * hidden) + dim
            + (long)header.SequenceLength * header.HeadSize + (header.SharedClassifier ? 0 : (long)header.VocabularySize * dim);
        if (floats.Length < expected)
        {
            throw new InvalidDataException($"'{checkpointPath}' holds {floats.Length} weights; its header {header} needs {expected}. The file is truncated.");
        }

        var offset = 0;
        float[] Take(long count)
        {
            var result = floats.AsSpan(offset, (int)count).ToArray();
            offset += (int)count;
            return result;
        }

        var embedding = Take((long)header.VocabularySize * dim);
        var attentionNorm = Take((long)layers * dim);
        var wq = Take((long)layers * dim * dim);
        var wk = Take((long)layers * kvDim * dim);
        var wv = Take((long)layers * kvDim * dim);
        var wo = Take((long)layers * dim * dim);
        var ffnNorm = Take((long)layers * dim);
        var w1 = Take((long)layers * hidden * dim);
        var w2 = Take((long)layers * dim * hidden);
        var w3 = Take((long)layers * hidden * dim);
        var finalNorm = Take(dim);
        offset += header.SequenceLength * header.HeadSize; // freq_cis_real and freq_cis_imag, recomputed by the engine
        var classifier = header.SharedClassifier ? null : Take((long)header.VocabularySize * dim);

        var writer = new GgufWriter();
        writer.AddMetadata("general.architecture", "llama")
            .AddMetadata("general.name", Path.GetFileNameWithoutExtension(checkpointPath))
            .AddMetadata("general.source", "llama2.c checkpoint converted by Anima")
            .AddMetadata("llama.context_length", (uint)header.SequenceLength)
            .AddMetadata("llama.embedding_length", (uint)dim)
            .AddMetadata("llama.block_count", (uint)layers)
            .AddMetadata("llama.feed_forward_length", (uint)hidden)
            .AddMetadata("llama.attention.head_count", (uint)header.HeadCount)
            .AddMetadata("llama.attention.head_count_kv", (uint)header.KeyValueHeadCount)
            .AddMetadata("llama.attention.layer_norm_rms_epsilon", 1e-5f)
            .AddMetadata("llama.rope.dimension_count", (uint)header.HeadSize)
            .AddMetadata("llama.rope.freq_base", 10000f)
            .AddMetadata("tokenizer.ggml.model", "llama")
            .AddMetadata("tokenizer.ggml.tokens", tokens)
            .AddMetadata("tokenizer.ggml.scores", scores)
            .AddMetadata("tokenizer.ggml.token_type", types)
            .AddMetadata("tokenizer.ggml.bos_token_id", 1u)
            .AddMetadata("tokenizer.ggml.eos_token_id", 2u)
            .AddMetadata("tokenizer.ggml.unknown_token_id", 0u)
            .AddMetadata("tokenizer.ggml.add_bos_token", true)
            .AddMetadata("tokenizer.ggml.add_space_prefix", true);

        writer.AddTensor("token_embd.weight", [dim, header.VocabularySize], embedding);
        writer.AddTensor("output_norm.weight", [dim], finalNorm);
        if (classifier is not null)
        {
            writer.AddTensor("output.weight", [dim, header.VocabularySize], classifier);
        }

        for (var l = 0; l < layers; l++)
        {
            var prefix = $"blk.{l}.";
            writer.AddTensor(prefix + "attn_norm.weight", [dim], attentionNorm.AsSpan(l * dim, dim));
            writer.AddTensor(prefix + "attn_q.weight", [dim, dim], wq.AsSpan(l * dim * dim, dim * dim));
            writer.AddTensor(prefix + "attn_k.weight", [dim, kvDim], wk.AsSpan(l * kvDim * dim, kvDim * dim));
            writer.AddTensor(prefix + "attn_v.weight", [dim, kvDim], wv.AsSpan(l * kvDim * dim, kvDim * dim));
            writer.AddTensor(prefix + "attn_output.weight", [dim, dim], wo.AsSpan(l * dim * dim, dim * dim));
            writer.AddTensor(prefix + "ffn_norm.weight", [dim], ffnNorm.AsSpan(l * dim, dim));
            writer.AddTensor(prefix + "ffn_gate.weight", [dim, hidden], w1.AsSpan(l * hidden * dim, hidden * dim));
            writer.AddTensor(prefix + "ffn_down.weight", [hidden, dim], w2.AsSpan(l * dim * hidden, dim * hidden));
            writer.AddTensor(prefix + "ffn_up.weight", [dim, hidden], w3.AsSpan(l * hidden * dim, hidden * dim));
        }

        writer.Write(outputPath, progress);
    }

    /// <summary>
    /// Reads llama2.c's tokenizer.bin (max token length, then score, length and bytes per token).
    /// llama2.c stores SentencePiece pieces with '▁' turned into ' '; the GGUF vocabulary turns them back.
    /// </summary>
    public static (string[] Tokens, float[] Scores, int[] Types) ReadTokenizer(string path, int vocabularySize)
    {
        var bytes = File.ReadAllBytes(path);
        var tokens = new string[vocabularySize];
        var scores = new float[vocabularySize];
        var types = new int[vocabularySize];
        var position = 4;
        for (var i = 0; i < vocabularySize; i++)
        {
            if (position + 8 > bytes.Length)
            {
                throw new InvalidDataException($"'{path}' ends after {i} of {vocabularySize} tokens.");
            }

            scores[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(position));
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(position + 4));
            position += 8;
            if (length < 0 || position + length > bytes.Length)
            {
                throw new InvalidDataException($"'{path}': token {i} has an impossible length {length}.");
            }

            var text = Encoding.UTF8.GetString(bytes, position, length);
            position += length;
            var isByte = text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text.EndsWith('>');
            tokens[i] = isByte ? text : text.Replace(' ', '\u2581');
            types[i] = i switch
            {
                0 => 2, // unknown
                1 or 2 => 3, // control: <s>, </s>
                _ when isByte => 6,
                _ => 1,
            };
        }

        return (tokens, scores, types);
    }
}
