using System.Text;
using System.Text.RegularExpressions;
using Anima.Llm.Gguf;

namespace Anima.Llm.Tokenization;

/// <summary>
/// Byte-level BPE (GPT-2 style): the text is split by the model's pre-tokenizer regular expressions
/// (chosen by <c>tokenizer.ggml.pre</c>), each piece's UTF-8 bytes are mapped to printable characters,
/// and merges are applied by rank.
/// </summary>
public sealed class BpeTokenizer : Tokenizer
{
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    private const string Llama3Pattern = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Pattern = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly char[] ByteToCharacter = BuildByteToCharacter();
    private static readonly Dictionary<char, byte> CharacterToByte = ByteToCharacter.Select((c, b) => (c, b)).ToDictionary(pair => pair.c, pair => (byte)pair.b);

    private readonly Dictionary<(string, string), int> _mergeRanks;
    private readonly Regex[] _preTokenizers;
    private readonly bool _ignoreMerges;
    private readonly byte[][] _tokenBytes;

    internal BpeTokenizer(GgufFile file)
        : base(file)
    {
        var merges = file.TryGetArray<string>("tokenizer.ggml.merges")
            ?? throw new GgufFormatException($"'{file.Path}' is a BPE vocabulary without tokenizer.ggml.merges.");
        _mergeRanks = new Dictionary<(string, string), int>(merges.Length);
        for (var rank = 0; rank < merges.Length; rank++)
        {
            var space = merges[rank].IndexOf(' ', 1);
            if (space <= 0)
            {
                throw new GgufFormatException($"'{file.Path}': merge {rank} '{merges[rank]}' is not two tokens separated by a space.");
            }

            _mergeRanks.TryAdd((merges[rank][..space], merges[rank][(space + 1)..]), rank);
        }

        PreTokenizer = file.TryGetString("tokenizer.ggml.pre") ?? "default";
        var patterns = PreTokenizer switch
        {
            "llama3" or "llama-bpe" or "llama-v3" or "smaug-bpe" or "dbrx" => [Llama3Pattern],
            "qwen2" or "stablelm2" or "deepseek-r1-qwen" => [Qwen2Pattern],
            "deepseek-coder" => [@"[\r\n]", @"\s?\p{L}+", @"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+", @"\p{N}"],
            "deepseek-llm" => [@"[\r\n]", @"\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ]+", @"\s?[!-/:-~！-／：-～‘-‟　-。]+", @"\s+$", "[一-龥ࠀ-一가-퟿]+", @"\p{N}+"],
            "gpt-2" or "gpt2" or "default" or "mpt" or "olmo" or "jais" or "starcoder" or "refact" or "command-r" or "smollm" or "codeshell" or "exaone" or "minerva-7b" => (string[])[Gpt2Pattern],
            _ => throw new NotSupportedException($"BPE pre-tokenizer '{PreTokenizer}' is not supported; supported: gpt-2, llama3, qwen2, deepseek-coder, deepseek-llm and their aliases."),
        };
        _preTokenizers = patterns.Select(pattern => new Regex(pattern, RegexOptions.CultureInvariant)).ToArray();
        _ignoreMerges = PreTokenizer is "llama3" or "llama-bpe" or "llama-v3";
        AddBeginningOfSequence = file.TryGetBool("tokenizer.ggml.add_bos_token") ?? false;
        _tokenBytes = new byte[Tokens.Count][];
        for (var i = 0; i < Tokens.Count; i++)
        {
            _tokenBytes[i] = Types[i] switch
            {
                TokenType.Control or TokenType.Unused or TokenType.Unknown => [],
                TokenType.UserDefined => Encoding.UTF8.GetBytes(Tokens[i]),
                _ => Unmap(Tokens[i]),
            };
        }
    }

    /// <summary>The pre-tokenizer named by <c>tokenizer.ggml.pre</c>.</summary>
    public string PreTokenizer { get; }

    public override byte[] TokenBytes(int token) => (uint)token < (uint)_tokenBytes.Length ? _tokenBytes[token] : [];

    private protected override void EncodeFragment(string fragment, bool followsSpecial, List<int> output)
    {
        foreach (var word in Split(fragment))
        {
            var mapped = Map(word);
            if (_ignoreMerges && TryGetIdCore(mapped, out var whole))
            {
                output.Add(whole);
                continue;
            }

            EncodeWord(mapped, output);
        }
    }

    /// <summary>Applies the pre-tokenizer expressions in turn; both matches and the text between them become pieces.</summary>
    private List<string> Split(string text)
    {
        var pieces = new List<string> { text };
        foreach (var regex in _preTokenizers)
        {
            var next = new List<string>();
            foreach (var piece in pieces)
            {
                var position = 0;
                foreach (Match match in regex.Matches(piece))
                {
                    if (match.Length == 0)
                    {
                        continue;
                    }

                    if (match.Index > position)
                    {
                        next.Add(piece[position..match.Index]);
                    }

                    next.Add(match.Value);
                    position = match.Index + match.Length;
                }

                if (position < piece.Length)
                {
                    next.Add(piece[position..]);
                }
            }

            pieces = next;
        }

        return pieces;
    }

    private void EncodeWord(string mapped, List<int> output)
    {
        var symbols = new List<string>(mapped.Length);
        for (var i = 0; i < mapped.Length; i++)
        {
            symbols.Add(mapped[i].ToString());
        }

        while (symbols.Count > 1)
        {
            var bestRank = int.MaxValue;
            var bestIndex = -1;
            for (var i = 0; i + 1 < symbols.Count; i++)
            {
                if (_mergeRanks.TryGetValue((symbols[i], symbols[i + 1]), out var rank) && rank < bestRank)
                {
                    bestRank = rank;
                    bestIndex = i;
                }
            }

            if (bestIndex < 0)
            {
                break;
            }

            symbols[bestIndex] += symbols[bestIndex + 1];
            symbols.RemoveAt(bestIndex + 1);
        }

        foreach (var symbol in symbols)
        {
            if (TryGetIdCore(symbol, out var id))
            {
                output.Add(id);
                continue;
            }

            // Not in the vocabulary: one token per mapped byte character where those exist.
            foreach (var character in symbol)
            {
                if (TryGetIdCore(character.ToString(), out var byteId))
                {
                    output.Add(byteId);
                }
                else if (Unknown is { } unknown)
                {
                    output.Add(unknown);
                }
            }
        }
    }

    private static string Map(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var characters = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            characters[i] = ByteToCharacter[bytes[i]];
        }

        return new string(characters);
    }

    private static byte[] Unmap(string token)
    {
        var bytes = new List<byte>(token.Length);
        foreach (var character in token)
        {
            if (CharacterToByte.TryGetValue(character, out var value))
            {
                bytes.Add(value);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(character.ToString()));
            }
        }

        return bytes.ToArray();
    }

    /// <summary>GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to U+0100 onwards.</summary>
    private static char[] BuildByteToCharacter()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
