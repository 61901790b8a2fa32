using Anima.Llm.Gguf;
using Anima.Llm.Tokenization;
using Anima.Testing;

namespace Anima.Llm.Tests;

public sealed class TokenizerTests
{
    public static TheoryData<string> Vocabularies => ["ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-coder.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf"];

    private static List<(string Input, int[] Expected)> ReadVectors(string vocabularyPath)
    {
        var raw = File.ReadAllText(vocabularyPath + ".inp");
        var outputs = File.ReadAllLines(vocabularyPath + ".out");
        const string Separator = "\n__ggml_vocab_test__\n";
        var inputs = new List<string>();
        var position = 0;
        while (position < raw.Length)
        {
            var next = raw.IndexOf(Separator, position, StringComparison.Ordinal);
            if (next < 0)
            {
                inputs.Add(raw[position..]);
                break;
            }

            inputs.Add(raw[position..next]);
            position = next + Separator.Length;
        }

        Assert.Equal(inputs.Count, outputs.Length);
        return inputs.Select((input, i) => (input, outputs[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray())).ToList();
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Encode_LlamaCppVectors_MatchEveryVector(string vocabulary)
    {
        var path = Path.Combine(SharedData.RequireDirectory("tokenizer-vectors"), vocabulary);
        using var file = GgufFile.Open(path);
        var tokenizer = Tokenizer.FromGguf(file);
        var failures = new List<string>();
        var vectors = ReadVectors(path);
        foreach (var (input, expected) in vectors)
        {
            var actual = tokenizer.Encode(input, addSpecial: false, parseSpecial: false);
            if (!actual.SequenceEqual(expected))
            {
                failures.Add($"'{input}': expected [{string.Join(' ', expected)}], got [{string.Join(' ', actual)}]");
            }
        }

        Assert.True(vectors.Count > 30, "too few vectors read");
        Assert.True(failures.Count == 0, $"{failures.Count} of {vectors.Count} vectors differ:\n" + string.Join('\n', failures));
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Decode_KoreanAndEnglish_RoundTrips(string vocabulary)
    {
        var path = Path.Combine(SharedData.RequireDirectory("tokenizer-vectors"), vocabulary);
        using var file = GgufFile.Open(path);
        var tokenizer = Tokenizer.FromGguf(file);
        const string Text = "안녕하세요, 오늘 기분이 어때요? I'm fine — 고마워요! 🦙 123";
        var tokens = tokenizer.Encode(Text, addSpecial: false);
        var decoded = tokenizer.Decode(tokens);
        var expected = tokenizer is SentencePieceTokenizer { AddSpacePrefix: true } ? " " + Text : Text;
        Assert.Equal(expected, decoded);
        Assert.True(tokens.Count < System.Text.Encoding.UTF8.GetByteCount(Text), "Korean should not fall back to one token per byte everywhere");
    }

    [Fact]
    public void Encode_ParseSpecialOff_TreatsControlTextAsPlainText()
    {
        var path = Path.Combine(SharedData.RequireDirectory("tokenizer-vectors"), "ggml-vocab-llama-spm.gguf");
        using var file = GgufFile.Open(path);
        var tokenizer = Tokenizer.FromGguf(file);
        var plain = tokenizer.Encode("</s>", addSpecial: false, parseSpecial: false);
        var special = tokenizer.Encode("</s>", addSpecial: false, parseSpecial: true);
        Assert.Equal([tokenizer.EndOfSequence!.Value], special);
        Assert.True(plain.Count > 1);
    }
}
