using System.Globalization;
using System.Text;
using Anima.Llm.Gguf;

namespace Anima.Llm.Tokenization;

/// <summary>
/// SentencePiece-style tokenization as llama.cpp does it for <c>tokenizer.ggml.model = llama</c>:
/// spaces become '▁' (with a leading one when <c>add_space_prefix</c>), the text starts as single
/// characters, the adjacent pair whose merge is the highest-scoring vocabulary entry is merged until
/// none is left, and pieces outside the vocabulary fall back to byte tokens <c>&lt;0xXX&gt;</c>.
/// </summary>
public sealed class SentencePieceTokenizer : Tokenizer
{
    private const char SpaceMarker = '\u2581';
    private readonly float[] _scores;
    private readonly int[] _byteTokens = new int[256];
    private readonly byte[][] _tokenBytes;

    internal SentencePieceTokenizer(GgufFile file)
        : base(file)
    {
        var scores = file.TryGetArray<float>("tokenizer.ggml.scores");
        _scores = new float[Tokens.Count];
        if (scores is not null)
        {
            Array.Copy(scores, _scores, Math.Min(scores.Length, _scores.Length));
        }

        AddSpacePrefix = file.TryGetBool("tokenizer.ggml.add_space_prefix") ?? true;
        AddBeginningOfSequence = file.TryGetBool("tokenizer.ggml.add_bos_token") ?? true;
        Array.Fill(_byteTokens, -1);
        _tokenBytes = new byte[Tokens.Count][];
        for (var i = 0; i < Tokens.Count; i++)
        {
            var text = Tokens[i];
            if (Types[i] == TokenType.Byte && text.Length == 6 && byte.TryParse(text.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value))
            {
                _byteTokens[value] = i;
                _tokenBytes[i] = [value];
            }
            else
            {
                _tokenBytes[i] = Types[i] is TokenType.Control or TokenType.Unknown or TokenType.Unused
                    ? []
                    : Encoding.UTF8.GetBytes(text.Replace(SpaceMarker, ' '));
            }
        }
    }

    /// <summary>Whether a space is put in front of text that starts the input or follows a special token.</summary>
    public bool AddSpacePrefix { get; }

    public override byte[] TokenBytes(int token) => (uint)token < (uint)_tokenBytes.Length ? _tokenBytes[token] : [];

    private protected override void EncodeFragment(string fragment, bool followsSpecial, List<int> output)
    {
        var text = (AddSpacePrefix && followsSpecial ? " " : string.Empty) + fragment;
        text = text.Replace(' ', SpaceMarker);
        if (text.Length == 0)
        {
            return;
        }

        // Symbols: one per Unicode character, as a doubly linked list over the text.
        var starts = new List<int>();
        var lengths = new List<int>();
        for (var i = 0; i < text.Length;)
        {
            var length = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            starts.Add(i);
            lengths.Add(length);
            i += length;
        }

        var count = starts.Count;
        var previous = new int[count];
        var next = new int[count];
        for (var i = 0; i < count; i++)
        {
            previous[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }

        var mergedFrom = new Dictionary<string, (string Left, string Right)>(StringComparer.Ordinal);
        // Highest score first; on equal scores the leftmost pair first.
        var queue = new PriorityQueue<(int Left, int Right, int Length), (float Score, int Left)>(
            Comparer<(float Score, int Left)>.Create((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));

        void TryAddPair(int left, int right)
        {
            if (left < 0 || right < 0)
            {
                return;
            }

            var pairLength = lengths[left] + lengths[right];
            if (TryGetIdCore(text.Substring(starts[left], pairLength), out var id))
            {
                queue.Enqueue((left, right, pairLength), (_scores[id], left));
            }
        }

        for (var i = 1; i < count; i++)
        {
            TryAddPair(i - 1, i);
        }

        while (queue.TryDequeue(out var pair, out _))
        {
            var (left, right, pairLength) = pair;
            // Skip pairs made stale by an earlier merge of either symbol.
            if (lengths[left] == 0 || lengths[right] == 0 || lengths[left] + lengths[right] != pairLength || next[left] != right)
            {
                continue;
            }

            var leftText = text.Substring(starts[left], lengths[left]);
            var rightText = text.Substring(starts[right], lengths[right]);
            mergedFrom.TryAdd(leftText + rightText, (leftText, rightText));
            lengths[left] += lengths[right];
            lengths[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0)
            {
                previous[next[right]] = left;
            }

            TryAddPair(previous[left], left);
            TryAddPair(left, next[left]);
        }

        for (var i = 0; i >= 0; i = next[i])
        {
            Resegment(text.Substring(starts[i], lengths[i]), mergedFrom, output);
        }
    }

    private void Resegment(string piece, Dictionary<string, (string Left, string Right)> mergedFrom, List<int> output)
    {
        if (TryGetIdCore(piece, out var id))
        {
            output.Add(id);
            return;
        }

        if (mergedFrom.TryGetValue(piece, out var parts))
        {
            Resegment(parts.Left, mergedFrom, output);
            Resegment(parts.Right, mergedFrom, output);
            return;
        }

        foreach (var b in Encoding.UTF8.GetBytes(piece))
        {
            var byteToken = _byteTokens[b];
            if (byteToken >= 0)
            {
                output.Add(byteToken);
            }
            else if (Unknown is { } unknown)
            {
                output.Add(unknown);
            }
        }
    }
}
