using System.Runtime.CompilerServices;
using System.Text;
using Anima.Llm.Inference;
using Microsoft.Extensions.AI;

namespace Anima.Llm.Chat;

/// <summary>Settings of a <see cref="LocalChatClient"/>; defaults are named constants.</summary>
public sealed class LocalChatClientOptions
{
    public const int DefaultContextLength = 4096;
    public const int DefaultMaxOutputTokens = 512;
    public const int DefaultMaxConversations = 4;

    /// <summary>Tokens of context per conversation (capped at the model's trained context).</summary>
    public int ContextLength { get; set; } = DefaultContextLength;

    /// <summary>Reply length when the request names none.</summary>
    public int MaxOutputTokens { get; set; } = DefaultMaxOutputTokens;

    /// <summary>Conversations whose KV caches are kept (least recently used ones are dropped).</summary>
    public int MaxConversations { get; set; } = DefaultMaxConversations;

    /// <summary>Threads for the matrix products; null = all cores.</summary>
    public int? Threads { get; set; }

    /// <summary>Sampling used where the request's <see cref="ChatOptions"/> leave a setting open.</summary>
    public SamplingOptions Sampling { get; set; } = new();

    public void Validate()
    {
        if (ContextLength < 16 || MaxOutputTokens < 1 || MaxConversations < 1 || Threads is < 1)
        {
            throw new ArgumentException("LocalChatClientOptions: ContextLength ≥ 16, MaxOutputTokens ≥ 1, MaxConversations ≥ 1, Threads ≥ 1.");
        }

        Sampling.Validate();
    }
}

/// <summary>
/// An <see cref="IChatClient"/> that runs a GGUF model in this process. Each conversation
/// (<see cref="ChatOptions.ConversationId"/>; requests without one share a default) keeps its KV cache,
/// and a new request reuses the longest common prefix of tokens, so a new turn computes only its new
/// tokens. Generations are serialized: one model, one request at a time, others wait their turn.
/// When a conversation outgrows the context, its oldest turns are dropped (the system prompt stays);
/// a single message longer than the context is an error.
/// </summary>
public sealed class LocalChatClient : IChatClient
{
    private readonly LocalModel _model;
    private readonly bool _ownsModel;
    private readonly LocalChatClientOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly LinkedList<(string Id, InferenceSession Session)> _sessions = new();
    private readonly int _contextLength;
    private bool _disposed;

    public LocalChatClient(LocalModel model, LocalChatClientOptions? options = null, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        _options = options ?? new LocalChatClientOptions();
        _options.Validate();
        _model = model;
        _ownsModel = ownsModel;
        if (_options.Threads is { } threads)
        {
            model.Transformer.Threads = threads;
        }

        _contextLength = Math.Min(_options.ContextLength, model.Transformer.Config.ContextLength);
        Metadata = new ChatClientMetadata("anima-local", new Uri("file://" + Path.GetFullPath(model.Transformer.File.Path)), model.Name);
    }

    /// <summary>Opens the GGUF model at <paramref name="path"/> and owns it.</summary>
    public static LocalChatClient Open(string path, LocalChatClientOptions? options = null)
    {
        var model = LocalModel.Open(path);
        try
        {
            return new LocalChatClient(model, options, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public ChatClientMetadata Metadata { get; }

    public LocalModel Model => _model;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            updates.Add(update);
        }

        return updates.ToChatResponse();
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var turns = ToTurns(messages, options);
        var maxOutput = options?.MaxOutputTokens ?? _options.MaxOutputTokens;
        if (maxOutput < 1)
        {
            throw new ArgumentException($"MaxOutputTokens must be at least 1; got {maxOutput}.", nameof(options));
        }

        var sampling = SamplingFor(options);
        var stops = (options?.StopSequences ?? []).Concat(_model.Template.StopTexts).Where(s => s.Length > 0).ToArray();
        var responseId = Guid.NewGuid().ToString("N");
        var conversationId = options?.ConversationId;

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var session = SessionFor(conversationId ?? string.Empty);
            var prompt = FitPrompt(turns, Math.Min(maxOutput, _contextLength / 2));
            var reused = session.CommonPrefixLength(prompt);
            // At least the last prompt token must be computed to get logits.
            reused = Math.Min(reused, prompt.Count - 1);
            session.Truncate(reused);
            var transformer = _model.Transformer;
            var newTokens = prompt.Skip(reused).ToArray();
            await Task.Run(() => transformer.Forward(session, newTokens, computeLogits: true, cancellationToken), cancellationToken);

            var sampler = new Sampler(sampling);
            var decoder = Encoding.UTF8.GetDecoder();
            var text = new StringBuilder();
            var emitted = 0;
            var generated = 0;
            var finish = ChatFinishReason.Length;
            var history = new List<int>(prompt);
            var maximumStop = stops.Length == 0 ? 0 : stops.Max(s => s.Length);
            var trimLeading = true;
            while (generated < maxOutput)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var token = sampler.Sample(session.Logits, history);
                if (_model.Tokenizer.EndOfGeneration.Contains(token))
                {
                    finish = ChatFinishReason.Stop;
                    break;
                }

                generated++;
                history.Add(token);
                var bytes = _model.Tokenizer.TokenBytes(token);
                var characters = new char[decoder.GetCharCount(bytes, flush: false)];
                decoder.GetChars(bytes, characters, flush: false);
                text.Append(characters);
                if (trimLeading)
                {
                    // Models start replies with a space or newline that the chat should not show.
                    var leading = 0;
                    while (leading < text.Length && char.IsWhiteSpace(text[leading]))
                    {
                        leading++;
                    }

                    text.Remove(0, leading);
                    trimLeading = text.Length == 0;
                }

                var stopAt = FindStop(text, stops);
                if (stopAt >= 0)
                {
                    if (stopAt > emitted)
                    {
                        yield return Update(text.ToString(emitted, stopAt - emitted), responseId, conversationId);
                    }

                    emitted = stopAt;
                    finish = ChatFinishReason.Stop;
                    break;
                }

                // Hold back text that may be the start of a stop sequence.
                var safe = text.Length - Math.Max(0, maximumStop - 1);
                if (safe > emitted)
                {
                    yield return Update(text.ToString(emitted, safe - emitted), responseId, conversationId);
                    emitted = safe;
                }

                if (session.Length >= session.ContextLength)
                {
                    finish = ChatFinishReason.Length;
                    break;
                }

                await Task.Run(() => transformer.Forward(session, [token], computeLogits: true, cancellationToken), cancellationToken);
            }

            if (finish != ChatFinishReason.Stop || emitted < text.Length)
            {
                var rest = FindStop(text, stops) is var stop and >= 0 ? stop : text.Length;
                if (rest > emitted)
                {
                    yield return Update(text.ToString(emitted, rest - emitted), responseId, conversationId);
                }
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails
            {
                InputTokenCount = prompt.Count,
                CachedInputTokenCount = reused,
                OutputTokenCount = generated,
                TotalTokenCount = prompt.Count + generated,
            })])
            {
                FinishReason = finish,
                ResponseId = responseId,
                ConversationId = conversationId,
                ModelId = _model.Name,
            };
        }
        finally
        {
            _gate.Release();
        }
    }

    private ChatResponseUpdate Update(string text, string responseId, string? conversationId) => new(ChatRole.Assistant, text)
    {
        ResponseId = responseId,
        ConversationId = conversationId,
        ModelId = _model.Name,
    };

    private static int FindStop(StringBuilder text, string[] stops)
    {
        if (stops.Length == 0)
        {
            return -1;
        }

        var value = text.ToString();
        var best = -1;
        foreach (var stop in stops)
        {
            var index = value.IndexOf(stop, StringComparison.Ordinal);
            if (index >= 0 && (best < 0 || index < best))
            {
                best = index;
            }
        }

        return best;
    }

    private SamplingOptions SamplingFor(ChatOptions? options)
    {
        var defaults = _options.Sampling;
        if (options is null)
        {
            return defaults;
        }

        var properties = options.AdditionalProperties;
        var sampling = defaults with
        {
            Temperature = options.Temperature ?? defaults.Temperature,
            TopP = options.TopP ?? defaults.TopP,
            TopK = options.TopK ?? defaults.TopK,
            Seed = options.Seed is { } seed ? unchecked((int)seed) : defaults.Seed,
            MinP = properties?.TryGetValue("min_p", out float minP) == true ? minP : defaults.MinP,
            RepetitionPenalty = properties?.TryGetValue("repeat_penalty", out float penalty) == true ? penalty : defaults.RepetitionPenalty,
        };
        sampling.Validate();
        return sampling;
    }

    private static List<ChatTurn> ToTurns(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var turns = new List<ChatTurn>();
        if (!string.IsNullOrWhiteSpace(options?.Instructions))
        {
            turns.Add(new ChatTurn("system", options.Instructions));
        }

        foreach (var message in messages)
        {
            var role = message.Role == ChatRole.System ? "system" : message.Role == ChatRole.Assistant ? "assistant" : "user";
            turns.Add(new ChatTurn(role, message.Text));
        }

        if (turns.Count == 0 || turns.All(turn => turn.Role == "system"))
        {
            throw new ArgumentException("The conversation needs at least one user message.", nameof(messages));
        }

        return turns;
    }

    /// <summary>
    /// Tokenizes the conversation, dropping the oldest non-system turns until the prompt and
    /// <paramref name="reserve"/> reply tokens fit in the context.
    /// </summary>
    private List<int> FitPrompt(List<ChatTurn> turns, int reserve)
    {
        var tokenizer = _model.Tokenizer;
        var bos = tokenizer.BeginningOfSequence is { } id ? tokenizer.Tokens[id] : null;
        var usesBosText = _model.Template.Kind is ChatTemplateKind.Llama3 or ChatTemplateKind.Gemma;
        var current = new List<ChatTurn>(turns);
        while (true)
        {
            var text = _model.Template.Render(current, bos);
            var tokens = tokenizer.Encode(text, addSpecial: !usesBosText, parseSpecial: true);
            if (tokens.Count + reserve <= _contextLength)
            {
                return tokens;
            }

            var oldest = current.FindIndex(turn => turn.Role != "system");
            var lastUser = current.FindLastIndex(turn => turn.Role == "user");
            if (oldest < 0 || oldest >= lastUser)
            {
                throw new ContextOverflowException(tokens.Count + reserve, _contextLength);
            }

            current.RemoveAt(oldest);
        }
    }

    private InferenceSession SessionFor(string conversationId)
    {
        for (var node = _sessions.First; node is not null; node = node.Next)
        {
            if (node.Value.Id == conversationId)
            {
                _sessions.Remove(node);
                _sessions.AddFirst(node);
                return node.Value.Session;
            }
        }

        var session = _model.Transformer.CreateSession(_contextLength);
        _sessions.AddFirst((conversationId, session));
        while (_sessions.Count > _options.MaxConversations)
        {
            _sessions.RemoveLast();
        }

        return session;
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? Metadata
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType == typeof(LocalModel) ? _model
            : null;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _gate.Dispose();
        if (_ownsModel)
        {
            _model.Dispose();
        }
    }
}
