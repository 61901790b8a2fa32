namespace Anima.Llm.Inference;

/// <summary>
/// The state of one conversation with a model: the tokens processed so far and their keys and values
/// for every layer (the KV cache), so that a new turn only computes its new tokens. The cache grows
/// by doubling up to <see cref="ContextLength"/> and no further. Not thread-safe: one generation at a time.
/// </summary>
public sealed class InferenceSession
{
    private const int InitialCapacity = 128;
    private readonly List<int> _tokens = [];
    private readonly int _keyValueDimension;

    internal InferenceSession(ModelConfig config, int contextLength)
    {
        Config = config;
        ContextLength = contextLength;
        _keyValueDimension = config.KeyValueDimension;
        Keys = new float[config.LayerCount][];
        Values = new float[config.LayerCount][];
        Capacity = 0;
        Logits = new float[config.VocabularySize];
    }

    public ModelConfig Config { get; }

    /// <summary>The most tokens this session can hold.</summary>
    public int ContextLength { get; }

    /// <summary>Tokens whose keys and values are cached, in order.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    public int Length => _tokens.Count;

    /// <summary>The logits after the last processed token (when the forward pass asked for them).</summary>
    public float[] Logits { get; }

    internal float[][] Keys { get; }

    internal float[][] Values { get; }

    internal int Capacity { get; private set; }

    /// <summary>Bytes held by the KV cache.</summary>
    public long CacheBytes => 2L * Config.LayerCount * Capacity * _keyValueDimension * sizeof(float);

    /// <summary>Forgets everything after the first <paramref name="length"/> tokens (keeps a common prefix).</summary>
    public void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length < _tokens.Count)
        {
            _tokens.RemoveRange(length, _tokens.Count - length);
        }
    }

    public void Reset() => Truncate(0);

    /// <summary>How many leading tokens of <paramref name="tokens"/> are already cached.</summary>
    public int CommonPrefixLength(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var limit = Math.Min(tokens.Count, _tokens.Count);
        var index = 0;
        while (index < limit && tokens[index] == _tokens[index])
        {
            index++;
        }

        return index;
    }

    internal void EnsureCapacity(int length)
    {
        if (length > ContextLength)
        {
            throw new ContextOverflowException(length, ContextLength);
        }

        if (length <= Capacity)
        {
            return;
        }

        var capacity = Math.Max(InitialCapacity, Capacity);
        while (capacity < length)
        {
            capacity *= 2;
        }

        capacity = Math.Min(capacity, ContextLength);
        for (var layer = 0; layer < Keys.Length; layer++)
        {
            var keys = new float[capacity * _keyValueDimension];
            var values = new float[capacity * _keyValueDimension];
            if (Keys[layer] is { } oldKeys)
            {
                Array.Copy(oldKeys, keys, Math.Min(oldKeys.Length, _tokens.Count * _keyValueDimension));
                Array.Copy(Values[layer], values, Math.Min(oldKeys.Length, _tokens.Count * _keyValueDimension));
            }

            Keys[layer] = keys;
            Values[layer] = values;
        }

        Capacity = capacity;
    }

    internal void Append(ReadOnlySpan<int> tokens)
    {
        foreach (var token in tokens)
        {
            _tokens.Add(token);
        }
    }
}

/// <summary>More tokens than the context holds.</summary>
public sealed class ContextOverflowException(int requested, int contextLength)
    : InvalidOperationException($"{requested} tokens do not fit in the context of {contextLength} tokens.")
{
    public int Requested { get; } = requested;

    public int ContextLength { get; } = contextLength;
}
