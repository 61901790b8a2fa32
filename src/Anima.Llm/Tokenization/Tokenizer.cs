using System.Text;
using Anima.Llm.Gguf;

namespace Anima.Llm.Tokenization;

/// <summary>The kinds of vocabulary entries in GGUF's <c>tokenizer.ggml.token_type</c>.</summary>
public enum TokenType
{
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>
/// A tokenizer built from GGUF metadata: byte-level BPE (<c>tokenizer.ggml.model = gpt2</c>) or
/// SentencePiece-style (<c>llama</c>). It follows llama.cpp's behaviour, whose test vectors it passes:
/// user-defined tokens are always matched verbatim, control tokens only with <c>parseSpecial</c>.
/// </summary>
public abstract class Tokenizer
{
    private readonly Dictionary<string, int> _ids;
    private readonly (string Text, int Id)[] _specialTokens;
    private readonly HashSet<char> _specialFirstCharacters;

    private protected Tokenizer(GgufFile file)
    {
        var tokens = file.TryGetArray<string>("tokenizer.ggml.tokens")
            ?? throw new GgufFormatException($"'{file.Path}' has no tokenizer.ggml.tokens; it has no vocabulary.");
        Tokens = tokens;
        var types = file.TryGetArray<int>("tokenizer.ggml.token_type");
        var tokenTypes = new TokenType[tokens.Length];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokenTypes[i] = types is not null && i < types.Length ? (TokenType)types[i] : TokenType.Normal;
        }

        Types = tokenTypes;

        _ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (var i = 0; i < tokens.Length; i++)
        {
            _ids.TryAdd(Tokens[i], i);
        }

        BeginningOfSequence = TokenId(file, "tokenizer.ggml.bos_token_id");
        EndOfSequence = TokenId(file, "tokenizer.ggml.eos_token_id");
        Unknown = TokenId(file, "tokenizer.ggml.unknown_token_id");
        var endOfTurn = TokenId(file, "tokenizer.ggml.eot_token_id");
        var endOfGeneration = new HashSet<int>();
        foreach (var id in new[] { EndOfSequence, endOfTurn })
        {
            if (id is { } value)
            {
                endOfGeneration.Add(value);
            }
        }

        foreach (var text in new[] { "<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<end_of_turn>", "<|end|>", "<|eom_id|>", "</s>" })
        {
            if (_ids.TryGetValue(text, out var id) && Types[id] is TokenType.Control or TokenType.UserDefined)
            {
                endOfGeneration.Add(id);
            }
        }

        EndOfGeneration = endOfGeneration;
        _specialTokens = Enumerable.Range(0, tokens.Length)
            .Where(i => Types[i] is TokenType.Control or TokenType.UserDefined or TokenType.Unknown && Tokens[i].Length > 0)
            .Select(i => (Tokens[i], i))
            .OrderByDescending(entry => entry.Item1.Length)
            .ToArray();
        _specialFirstCharacters = _specialTokens.Select(entry => entry.Text[0]).ToHashSet();
    }

    /// <summary>Builds the tokenizer that <c>tokenizer.ggml.model</c> names.</summary>
    public static Tokenizer FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var model = file.TryGetString("tokenizer.ggml.model")
            ?? throw new GgufFormatException($"'{file.Path}' has no tokenizer.ggml.model.");
        return model switch
        {
            "gpt2" => new BpeTokenizer(file),
            "llama" => new SentencePieceTokenizer(file),
            _ => throw new NotSupportedException($"Tokenizer model '{model}' is not supported; supported: gpt2 (byte-level BPE), llama (SentencePiece)."),
        };
    }

    public IReadOnlyList<string> Tokens { get; }

    public IReadOnlyList<TokenType> Types { get; }

    public int VocabularySize => Tokens.Count;

    public int? BeginningOfSequence { get; }

    public int? EndOfSequence { get; }

    public int? Unknown { get; }

    /// <summary>Tokens that end a generation (end of sequence, end of turn).</summary>
    public IReadOnlySet<int> EndOfGeneration { get; }

    /// <summary>Whether a beginning-of-sequence token is added in front by default.</summary>
    public bool AddBeginningOfSequence { get; private protected init; }

    public int? TryGetId(string tokenText) => _ids.TryGetValue(tokenText, out var id) ? id : null;

    private protected bool TryGetIdCore(string tokenText, out int id) => _ids.TryGetValue(tokenText, out id);

    /// <summary>
    /// Tokenizes <paramref name="text"/>. <paramref name="addSpecial"/> adds the beginning-of-sequence
    /// token where the model wants one; <paramref name="parseSpecial"/> turns control-token text (such as
    /// <c>&lt;|im_start|&gt;</c>) into those tokens instead of plain text.
    /// </summary>
    public List<int> Encode(string text, bool addSpecial = true, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<int>();
        if (addSpecial && AddBeginningOfSequence && BeginningOfSequence is { } bos)
        {
            output.Add(bos);
        }

        var previousWasSpecial = true;
        foreach (var (fragment, specialId) in Partition(text, parseSpecial))
        {
            if (specialId >= 0)
            {
                output.Add(specialId);
                previousWasSpecial = true;
            }
            else
            {
                EncodeFragment(fragment, previousWasSpecial, output);
                previousWasSpecial = false;
            }
        }

        return output;
    }

    private protected abstract void EncodeFragment(string fragment, bool followsSpecial, List<int> output);

    /// <summary>The bytes that <paramref name="token"/> stands for (empty for control tokens).</summary>
    public abstract byte[] TokenBytes(int token);

    /// <summary>Decodes tokens to text, leaving out control tokens.</summary>
    public string Decode(IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            bytes.AddRange(TokenBytes(token));
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>Splits text around special tokens: (text, -1) for plain fragments, (token text, id) for special ones.</summary>
    private List<(string Fragment, int SpecialId)> Partition(string text, bool parseSpecial)
    {
        var result = new List<(string, int)>();
        var start = 0;
        var plainStart = 0;
        while (start < text.Length)
        {
            var matched = -1;
            var matchedLength = 0;
            if (!_specialFirstCharacters.Contains(text[start]))
            {
                start++;
                continue;
            }

            foreach (var (tokenText, id) in _specialTokens)
            {
                if (!parseSpecial && Types[id] is TokenType.Control or TokenType.Unknown)
                {
                    continue;
                }

                if (string.CompareOrdinal(text, start, tokenText, 0, tokenText.Length) == 0)
                {
                    matched = id;
                    matchedLength = tokenText.Length;
                    break;
                }
            }

            if (matched < 0)
            {
                start++;
                continue;
            }

            if (start > plainStart)
            {
                result.Add((text[plainStart..start], -1));
            }

            result.Add((text.Substring(start, matchedLength), matched));
            start += matchedLength;
            plainStart = start;
        }

        if (plainStart < text.Length)
        {
            result.Add((text[plainStart..], -1));
        }

        return result;
    }

    private static int? TokenId(GgufFile file, string key)
    {
        var value = file.TryGetInteger(key);
        return value is >= 0 and <= int.MaxValue ? (int)value : null;
    }
}
