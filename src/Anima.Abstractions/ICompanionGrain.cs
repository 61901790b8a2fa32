namespace Anima.Abstractions;

/// <summary>
/// One user's companion: persona, conversation, mood and settings. Keyed by the authenticated user's id;
/// every change to a companion goes through its grain, so one user's turns are serialized here.
/// </summary>
public interface ICompanionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Stores the user's message durably, then streams the reply. The first event is always
    /// <see cref="ReplyEventKind.Accepted"/> once the message is stored; validation failures throw
    /// <see cref="CompanionException"/> before anything is stored. Cancelling (or disposing the stream)
    /// stops generation and stores the partial reply as <see cref="TurnStatus.Interrupted"/>.
    /// <para>
    /// <paramref name="messageId"/> (optional, chosen by the client, at most 100 characters) makes the send
    /// idempotent: a retry with the same id (after a dropped connection or a node failure) does not store the
    /// message again; it is accepted with the stored turn's id, and answered with the stored reply when one
    /// was completed, or with a new reply when none was.
    /// </para>
    /// </summary>
    IAsyncEnumerable<ReplyEvent> SendAsync(string text, string? messageId = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="SendAsync"/> for a spoken turn: <paramref name="heard"/> is the feeling heard in the
    /// voice, fused with the feeling read in the words into the user's mood.
    /// </summary>
    IAsyncEnumerable<ReplyEvent> SendSpokenAsync(string transcript, HeardEmotion? heard, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts the first-boot conversation: the companion greets the user in <paramref name="language"/>
    /// ("en" or "ko"). Only valid before the companion has said anything.
    /// </summary>
    IAsyncEnumerable<ReplyEvent> BeginAsync(string language, CancellationToken cancellationToken = default);

    /// <summary>Stops the reply being written, if any (the stop button, or the user talking over it); returns whether one was stopped.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<bool> StopAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The user cut a spoken reply off: only <paramref name="heardText"/> (a prefix of the reply, as far as it was played)
    /// reached them. Stops the reply if it is still being written and stores it as <see cref="TurnStatus.Interrupted"/>
    /// with only the heard text, so the next prompt tells the mind where it was cut off. Applies to the newest reply
    /// only while it is the newest turn; text that is not a prefix of the reply is refused. Returns whether it applied.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<bool> CutOffReplyAsync(string heardText, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes once the last turn is in long-term memory. A turn is written there after its reply has ended (the
    /// response does not wait for it), so whatever reads or deletes the user's memories waits for this first.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task WhenRememberedAsync(CancellationToken cancellationToken = default);

    /// <summary>The user's voice baseline (speaker statistics for hearing the feeling in their voice), or null before the first spoken turn.</summary>
    Task<VoiceBaseline?> GetVoiceBaselineAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores the user's voice baseline (as a voice connection updates it); refuses malformed or non-finite values.</summary>
    Task SaveVoiceBaselineAsync(VoiceBaseline baseline, CancellationToken cancellationToken = default);

    /// <summary>A page of history, newest last, older than <paramref name="beforeTurnId"/> when given.</summary>
    Task<ConversationPage> GetHistoryAsync(int limit, long? beforeTurnId = null, CancellationToken cancellationToken = default);

    Task<CompanionSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default);

    Task<CompanionSettings> UpdateSettingsAsync(CompanionSettings settings, CancellationToken cancellationToken = default);

    /// <summary>The user's mood over time (oldest first), from <paramref name="since"/>.</summary>
    Task<IReadOnlyList<MoodPoint>> GetMoodAsync(DateTimeOffset since, CancellationToken cancellationToken = default);
}

/// <summary>A request the companion refuses, with a stable <see cref="Code"/> (see <see cref="ReplyErrorCodes"/>).</summary>
[GenerateSerializer]
public sealed class CompanionException : Exception
{
    public CompanionException()
    {
    }

    public CompanionException(string message)
        : base(message)
    {
    }

    public CompanionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CompanionException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    [Id(0)]
    public string Code { get; init; } = "error";
}
