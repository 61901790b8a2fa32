using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Anima.Abstractions;
using Anima.Core.Conversation;
using Anima.Core.Diagnostics;
using Anima.Core.Memory;
using Anima.Core.Mind;
using Anima.Core.Persona;
using Anima.Core.Prompting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anima.Grains;

/// <summary>
/// One user's companion. A turn: validate → store the user's message (durable before anything else) →
/// perceive → compose the prompt → stream the mind's reply → store the reply (complete, interrupted or
/// failed, with whatever text was produced). Only one reply is written at a time per companion.
/// </summary>
public sealed partial class CompanionGrain(
    [PersistentState("companion", StorageNames.Companions)] IPersistentState<CompanionState> state,
    IConversationStore conversations,
    IMind mind,
    PromptComposer composer,
    IEnumerable<IMessagePerceiver> perceivers,
    IEnumerable<IConversationMemory> memories,
    IOptions<CompanionOptions> options,
    TimeProvider timeProvider,
    TurnTimings timings,
    ILogger<CompanionGrain> logger) : Grain, ICompanionGrain, IRemindable
{
    /// <summary>More features than any voice model of ours has (185 today): a larger baseline is refused.</summary>
    private const int MaximumVoiceFeatures = 4096;

    private readonly CompanionOptions _options = options.Value;
    private readonly IMessagePerceiver? _perceiver = perceivers.FirstOrDefault();
    private readonly IConversationMemory? _memory = memories.FirstOrDefault();
    private const string ConsolidationReminder = "consolidate-memories";
    private IGrainTimer? _idleTimer;
    private IGrainReminder? _consolidationReminder;
    private readonly List<ConversationTurn> _recent = [];
    private int _turnCount;

    // Set while a reply is being written. Grain calls interleave between the steps of a streamed
    // reply (Orleans' enumeration calls are AlwaysInterleave), so this guard is what keeps two
    // concurrent sends from writing two replies into one conversation.
    private ReplyRun? _activeReply;

    private ConversationTurn? _lastStoredReply;
    private Task _remembering = Task.CompletedTask;

    // Restarting the idle clock after a turn (a grain timer, and a reminder: a write to the cluster's database, which
    // right after start-up can wait for the reminder service). Only deactivation waits for it; the next turn and
    // memory reads wait for _remembering alone.
    private Task _scheduling = Task.CompletedTask;

    // A cut-off (what of a spoken reply the user heard) that arrived while the reply was still being written: it is
    // applied right after the reply is stored, so whichever comes first, the stored reply ends where the user cut it.
    private string? _pendingCutOff;
    private bool _replyBeingWritten;

    private string UserId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A reply left "streaming" by a crashed node is marked interrupted, so history never shows a
        // reply that claims to still be in progress.
        var started = Stopwatch.GetTimestamp();
        await conversations.RecoverStreamingAsync(UserId, cancellationToken);
        var page = await conversations.GetPageAsync(UserId, _options.RecentTurns, cancellationToken: cancellationToken);
        _recent.AddRange(page.Turns);
        _turnCount = await conversations.CountAsync(UserId, cancellationToken);
        Lap(TurnStage.Activate, started);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // A finished turn may still be writing itself into long-term memory (it runs after "done", outside any
        // request): let it land before the companion leaves memory, within the time the runtime allows.
        try
        {
            await Task.WhenAll(_remembering, _scheduling).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The runtime would not wait longer; the conversation itself is stored.
        }

        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    public IAsyncEnumerable<ReplyEvent> SendAsync(string text, string? messageId = null, CancellationToken cancellationToken = default) =>
        TurnAsync(text, null, messageId, _options.TextEventInterval, cancellationToken);

    public IAsyncEnumerable<ReplyEvent> SendSpokenAsync(string transcript, HeardEmotion? heard, CancellationToken cancellationToken = default) =>
        TurnAsync(transcript, heard, null, TimeSpan.Zero, cancellationToken);

    /// <summary>
    /// Fuses what the words say with what the voice says: the voice carries arousal better than words
    /// and valence worse (acted-speech models confuse sad, calm and neutral), so it weighs 60% on
    /// arousal and 30% on valence, scaled by its confidence.
    /// </summary>
    internal static PerceivedEmotion? Fuse(PerceivedEmotion? text, HeardEmotion? voice)
    {
        if (voice is null || !float.IsFinite(voice.Valence) || !float.IsFinite(voice.Arousal))
        {
            return text;
        }

        var confidence = Math.Clamp(voice.Confidence, 0f, 1f);
        var labels = (text?.Labels ?? []).Append(voice.Label + " (voice)").ToArray();
        if (text is null)
        {
            return new PerceivedEmotion(labels, voice.Valence, voice.Arousal, "voice", 0.5f * confidence);
        }

        var valenceWeight = 0.3f * confidence;
        var arousalWeight = 0.6f * confidence;
        return text with
        {
            Labels = labels,
            Valence = ((1 - valenceWeight) * text.Valence) + (valenceWeight * voice.Valence),
            Arousal = ((1 - arousalWeight) * text.Arousal) + (arousalWeight * voice.Arousal),
        };
    }

    private async IAsyncEnumerable<ReplyEvent> TurnAsync(string text, HeardEmotion? heard, string? messageId, TimeSpan eventInterval, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (messageId is not null && (messageId.Length is 0 or > MaximumMessageIdLength || !messageId.All(IsMessageIdChar)))
        {
            throw new CompanionException(ReplyErrorCodes.InvalidMessageId, $"The message id must be 1 to {MaximumMessageIdLength} letters, digits, '-' or '_'.");
        }

        text = (text ?? string.Empty).Trim();
        if (text.Length == 0)
        {
            throw new CompanionException(ReplyErrorCodes.EmptyMessage, "The message is empty.");
        }

        if (text.Length > _options.MaximumMessageLength)
        {
            throw new CompanionException(ReplyErrorCodes.MessageTooLong, $"The message has {text.Length} characters; the limit is {_options.MaximumMessageLength}.");
        }

        using var reply = BeginReply(cancellationToken);
        reply.Run.Started = Stopwatch.GetTimestamp();
        reply.Run.EventInterval = eventInterval;
        var language = Languages.Detect(text, state.State.Profile.Language);
        var stepStarted = Stopwatch.GetTimestamp();
        var stored = messageId is null ? null : await conversations.FindMessageAsync(UserId, messageId, CancellationToken.None);
        stepStarted = Lap(TurnStage.Lookup, stepStarted);
        if (stored is { Reply.Status: TurnStatus.Complete } answered)
        {
            // A retry of a message that was answered: the same answer, nothing stored again.
            yield return new ReplyEvent(ReplyEventKind.Accepted, TurnId: answered.Message.Id);
            yield return ReplyEvent.Token(answered.Reply.Text);
            yield return new ReplyEvent(ReplyEventKind.Completed, TurnId: answered.Reply.Id, Status: TurnStatus.Complete);
            yield break;
        }

        var emotion = stored?.Message.Emotion ?? (state.State.Settings.PerceptionEnabled ? Fuse(_perceiver?.Perceive(text), heard) : null);
        stepStarted = Lap(TurnStage.Perceive, stepStarted);
        ConversationTurn? userTurn = null;
        Task<ConversationTurn>? storing = null;
        if (stored is not null)
        {
            // A retry of a message whose reply never completed (the node answering it died, say): the
            // message stays stored once and gets a new reply.
            userTurn = stored.Message;
            Remember(userTurn);
        }
        else
        {
            storing = conversations.AppendAsync(UserId, TurnRole.User, text, TurnStatus.Complete, timeProvider.GetUtcNow(), emotion, messageId, CancellationToken.None);
        }

        // The message is written while the prompt is composed and the mind starts thinking, and is durable before any
        // of the reply reaches the user ("accepted" comes first). Without a mind, and while the companion is still
        // being named (rare: the first meeting), it is simply stored first.
        if (storing is not null && (mind.Client is null || !state.State.Profile.IsNamed))
        {
            userTurn = await storing;
            storing = null;
            Remember(userTurn);
            Lap(TurnStage.StoreMessage, stepStarted);
        }

        if (userTurn is not null)
        {
            foreach (var acceptedEvent in AcceptedEvents(userTurn, emotion))
            {
                reply.Run.WaitingForConsumerSince = timeProvider.GetTimestamp();
                yield return acceptedEvent;
                reply.Run.WaitingForConsumerSince = null;
            }
        }

        if (mind.Client is not { } client)
        {
            await RememberAsync(userTurn!);
            LogNoMind(logger, UserId);
            yield return new ReplyEvent(ReplyEventKind.Error, "No mind is connected, so I can't answer yet. Your message is saved.", ErrorCode: ReplyErrorCodes.MindUnavailable);
            yield break;
        }

        string? instruction = null;
        if (!state.State.Profile.IsNamed)
        {
            state.State.FirstMeetingUserTurns++;
            if (state.State.FirstMeetingUserTurns == 1 && state.State.Profile.UserName is null)
            {
                // The first answer of the first meeting is usually the user's name; the persona asks for it.
                state.State.Profile = state.State.Profile with { UserName = GuessUserName(text) };
            }

            if (state.State.FirstMeetingUserTurns >= _options.NameAfterUserTurns)
            {
                var naming = Stopwatch.GetTimestamp();
                var named = await TryChooseNameAsync(client, language, reply.Token);
                reply.Run.MindWait += Stopwatch.GetElapsedTime(naming);
                if (named is not null)
                {
                    instruction = PersonaPrompt.Naming(named.Value.Name, named.Value.Reason);
                    reply.Run.WaitingForConsumerSince = timeProvider.GetTimestamp();
                    yield return new ReplyEvent(ReplyEventKind.Named, named.Value.Name);
                    reply.Run.WaitingForConsumerSince = null;
                }
            }

            instruction ??= PersonaPrompt.FirstMeeting(language, state.State.FirstMeetingUserTurns);
            await state.WriteStateAsync(CancellationToken.None);
        }

        // The turn before this one may still be writing itself into long-term memory (it finishes after its "done"):
        // what is recalled now includes it.
        await _remembering;
        var context = new TurnContext(UserId, text, language, state.State.Profile, state.State.Settings, emotion, timeProvider.GetUtcNow());
        var history = userTurn is null ? [.. _recent] : _recent.Where(turn => turn.Id < userTurn.Id).ToList();
        var composing = Stopwatch.GetTimestamp();
        List<ChatMessage> messages;
        try
        {
            messages = await composer.ComposeAsync(context, history, instruction, _turnCount + (storing is null ? 0 : 1), _options.HistoryTokenBudget, reply.Token);
        }
        catch (Exception) when (storing is not null)
        {
            // Stopped (or failed) while the message was being written: the turn ends once it is stored, as it would have.
            Remember(await storing);
            throw;
        }

        Lap(TurnStage.Compose, composing);

        // Remembered after recall, so the message does not recall itself, and after the reply, in one write
        // with it: the message, the reply and the turn before them, each with its neighbours on both sides.
        // The write comes after "done": it is not latency the user waits for, and memory reads wait for it.
        var finished = false;
        try
        {
            await foreach (var replyEvent in StreamReplyAsync(client, messages, reply.Run, storing is null ? null : AcceptedAsync(storing, emotion, stepStarted)))
            {
                if (replyEvent.Kind == ReplyEventKind.Completed)
                {
                    // The reply is whole and stored. What is left (writing the turn into long-term memory, restarting the
                    // idle clock) runs from here on this activation rather than when the reader asks for more, and the
                    // companion is no longer busy: a quick next message is answered, not refused, and waits for this
                    // write only before it recalls.
                    finished = true;
                    userTurn ??= storing is null ? null : await storing;
                    _remembering = RememberFinishedTurnAsync(userTurn, _lastStoredReply);
                    _scheduling = RestartIdleClockAsync(_scheduling);
                    reply.Dispose();
                }

                yield return replyEvent;
            }
        }
        finally
        {
            // When the reader went away mid-reply (or the turn failed): what was said is remembered all the same. (A
            // message whose write failed was never accepted: there is nothing to remember.)
            if (!finished)
            {
                if (userTurn is null && storing is not null)
                {
                    try
                    {
                        userTurn = await storing;
                        Remember(userTurn);
                    }
                    catch (Exception)
                    {
                        // Never stored, so never accepted: the failure is the turn's, and there is nothing to remember.
                    }
                }

                if (userTurn is not null)
                {
                    var remembering = RememberTurnAsync(userTurn, _lastStoredReply);
                    _remembering = remembering;
                    await remembering;
                }
            }
        }
    }

    /// <summary>After a turn's "done": writes it into long-term memory; never throws.</summary>
    private async Task RememberFinishedTurnAsync(ConversationTurn? userTurn, ConversationTurn? storedReply)
    {
        try
        {
            if (userTurn is not null)
            {
                await RememberTurnAsync(userTurn, storedReply);
            }
        }
        catch (Exception exception)
        {
            // The conversation itself is stored; only its long-term memory is missing.
            LogRememberFailed(logger, UserId, exception);
        }
    }

    /// <summary>After a turn's "done": restarts the idle clock, after the previous restart; never throws.</summary>
    private async Task RestartIdleClockAsync(Task previous)
    {
        await previous;
        try
        {
            await ScheduleConsolidationAsync();
        }
        catch (Exception exception)
        {
            // Only the idle clock is missing; the next turn starts it again.
            LogIdleClockFailed(logger, UserId, exception);
        }
    }

    /// <summary>The message, and the reply when it was stored after it, with their neighbours.</summary>
    private Task RememberTurnAsync(ConversationTurn userTurn, ConversationTurn? storedReply) =>
        storedReply is { Text.Length: > 0 } && storedReply.Id > userTurn.Id
            ? RememberAsync(storedReply, turnsWritten: 3)
            : RememberAsync(userTurn);

    private static ReplyEvent[] AcceptedEvents(ConversationTurn userTurn, PerceivedEmotion? emotion) =>
        emotion is null
            ? [new ReplyEvent(ReplyEventKind.Accepted, TurnId: userTurn.Id)]
            : [new ReplyEvent(ReplyEventKind.Accepted, TurnId: userTurn.Id), new ReplyEvent(ReplyEventKind.Perceived, Emotion: emotion)];

    /// <summary>Waits for the user's message to be stored (while the mind already thinks) and gives the events that say so.</summary>
    private async Task<ReplyEvent[]> AcceptedAsync(Task<ConversationTurn> storing, PerceivedEmotion? emotion, long started)
    {
        var userTurn = await storing;
        Remember(userTurn);
        Lap(TurnStage.StoreMessage, started);
        return AcceptedEvents(userTurn, emotion);
    }

    public async IAsyncEnumerable<ReplyEvent> BeginAsync(string language, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!Languages.IsSupported(language))
        {
            throw new CompanionException("unsupported-language", $"Language '{language}' is not supported; use 'en' or 'ko'.");
        }

        if (_turnCount > 0 || state.State.Profile.IsNamed)
        {
            throw new CompanionException("already-begun", "This companion has already met its user.");
        }

        using var reply = BeginReply(cancellationToken);
        if (mind.Client is not { } client)
        {
            yield return new ReplyEvent(ReplyEventKind.Error, "No mind is connected, so I can't speak yet.", ErrorCode: ReplyErrorCodes.MindUnavailable);
            yield break;
        }

        state.State.Profile = state.State.Profile with { Language = language, MetAt = state.State.Profile.MetAt ?? timeProvider.GetUtcNow() };
        await state.WriteStateAsync(CancellationToken.None);
        var opening = language == Languages.Korean ? "(사용자가 방금 당신을 처음으로 켰습니다.)" : "(The user has just switched you on for the first time.)";
        var context = new TurnContext(UserId, opening, language, state.State.Profile, state.State.Settings, null, timeProvider.GetUtcNow());
        var messages = await composer.ComposeAsync(context, [], PersonaPrompt.FirstMeeting(language, 0), 0, _options.HistoryTokenBudget, reply.Token);
        await foreach (var replyEvent in StreamReplyAsync(client, messages, reply.Run))
        {
            yield return replyEvent;
        }
    }

    public Task WhenRememberedAsync(CancellationToken cancellationToken = default) => _remembering.WaitAsync(cancellationToken);

    public async Task<bool> StopAsync(CancellationToken cancellationToken = default)
    {
        if (_activeReply is not { } active)
        {
            return false;
        }

        await active.Source.CancelAsync();
        return true;
    }

    public async Task<bool> CutOffReplyAsync(string heardText, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(heardText);
        if (_replyBeingWritten)
        {
            _pendingCutOff = heardText;
            if (_activeReply is { } active)
            {
                await active.Source.CancelAsync();
            }

            return true;
        }

        return await ApplyCutOffAsync(heardText);
    }

    private async Task<bool> ApplyCutOffAsync(string heardText)
    {
        if (_recent.Count == 0 || _recent[^1] is not { Role: TurnRole.Companion } reply || HeardPrefix(reply.Text, heardText) is not { } heard)
        {
            return false;
        }

        if (heard.Length == reply.Text.Length)
        {
            return true; // all of it was heard: nothing to cut
        }

        await conversations.UpdateAsync(UserId, reply.Id, heard, TurnStatus.Interrupted, CancellationToken.None);
        var cut = reply with { Text = heard, Status = TurnStatus.Interrupted };
        _recent[^1] = cut;
        if (_lastStoredReply?.Id == reply.Id)
        {
            _lastStoredReply = cut;
        }

        return true;
    }

    /// <summary>
    /// The part of <paramref name="reply"/> that <paramref name="heard"/> covers, when <paramref name="heard"/> is a
    /// prefix of it ignoring differences in whitespace (the voice pipeline joins sentences with single spaces); else null.
    /// </summary>
    internal static string? HeardPrefix(string reply, string heard)
    {
        int replyIndex = 0, heardIndex = 0;
        while (true)
        {
            while (heardIndex < heard.Length && char.IsWhiteSpace(heard[heardIndex]))
            {
                heardIndex++;
            }

            while (replyIndex < reply.Length && char.IsWhiteSpace(reply[replyIndex]))
            {
                replyIndex++;
            }

            if (heardIndex == heard.Length)
            {
                return reply[..replyIndex].TrimEnd();
            }

            if (replyIndex == reply.Length || reply[replyIndex] != heard[heardIndex])
            {
                return null;
            }

            replyIndex++;
            heardIndex++;
        }
    }

    public Task<VoiceBaseline?> GetVoiceBaselineAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(state.State.VoiceBaseline);

    public async Task SaveVoiceBaselineAsync(VoiceBaseline baseline, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        if (baseline.Count < 0 || baseline.Means is not { Length: > 0 and <= MaximumVoiceFeatures } means || baseline.Variances?.Length != means.Length
            || !means.All(double.IsFinite) || !baseline.Variances.All(variance => double.IsFinite(variance) && variance >= 0))
        {
            throw new CompanionException("invalid-voice-baseline", "The voice baseline must have a non-negative count and as many finite means as non-negative variances.");
        }

        state.State.VoiceBaseline = baseline;
        await state.WriteStateAsync(cancellationToken);
    }

    public Task<ConversationPage> GetHistoryAsync(int limit, long? beforeTurnId = null, CancellationToken cancellationToken = default)
    {
        limit = Math.Clamp(limit, 1, 500);
        if (beforeTurnId is null && limit <= _recent.Count && !_recent.Exists(turn => turn.Status == TurnStatus.Streaming))
        {
            return Task.FromResult(new ConversationPage(_recent.GetRange(_recent.Count - limit, limit), _turnCount > limit));
        }

        return conversations.GetPageAsync(UserId, limit, beforeTurnId, cancellationToken);
    }

    public Task<CompanionSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new CompanionSnapshot(state.State.Profile, state.State.Settings, _turnCount, _activeReply is not null));

    public async Task<CompanionSettings> UpdateSettingsAsync(CompanionSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.PreferredLanguage is not null && !Languages.IsSupported(settings.PreferredLanguage))
        {
            throw new CompanionException("unsupported-language", $"Language '{settings.PreferredLanguage}' is not supported; use 'en' or 'ko'.");
        }

        state.State.Settings = settings;
        if (settings.PreferredLanguage is { } language)
        {
            state.State.Profile = state.State.Profile with { Language = language };
        }

        await state.WriteStateAsync(cancellationToken);
        return settings;
    }

    public Task<IReadOnlyList<MoodPoint>> GetMoodAsync(DateTimeOffset since, CancellationToken cancellationToken = default) =>
        conversations.GetMoodAsync(UserId, since, cancellationToken);

    /// <summary>The longest client message id accepted.</summary>
    public const int MaximumMessageIdLength = 100;

    private static bool IsMessageIdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    private ActiveReply BeginReply(CancellationToken cancellationToken)
    {
        if (_activeReply is { } active)
        {
            // A reply whose reader stopped reading (the node that was streaming it to the user died, so
            // nobody will ever ask for the next token) would otherwise keep this companion busy until the
            // runtime gives up on it. After a short grace period a new turn takes over and the old reply
            // is cancelled without being stored.
            if (active.WaitingForConsumerSince is not { } since || timeProvider.GetElapsedTime(since) < _options.AbandonedReplyTimeout)
            {
                throw new CompanionException(ReplyErrorCodes.Busy, "A reply is already being written; wait for it to finish or stop it first.");
            }

            LogReplyAbandoned(logger, UserId);
            active.Superseded = true;
            active.Source.Cancel();
        }

        var run = new ReplyRun(CancellationTokenSource.CreateLinkedTokenSource(cancellationToken));
        _activeReply = run;
        return new ActiveReply(this, run);
    }

    /// <summary>
    /// Streams the mind's reply. <paramref name="accepted"/>, when given, is the user's message being stored while the
    /// mind starts: its events come first, and if it fails the mind is stopped and the failure is the turn's.
    /// </summary>
    private async IAsyncEnumerable<ReplyEvent> StreamReplyAsync(IChatClient client, List<ChatMessage> messages, ReplyRun run, Task<ReplyEvent[]>? accepted = null)
    {
        var cancellationToken = run.Source.Token;
        var text = new StringBuilder();
        var status = TurnStatus.Streaming;
        string? errorCode = null;
        _replyBeingWritten = true;
        _pendingCutOff = null;
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        watchdog.CancelAfter(_options.FirstTokenTimeout);
        // The conversation id lets a mind that keeps state per conversation (the in-process engine's KV
        // cache) reuse what it already computed, so a new turn only processes its new tokens.
        var chatOptions = new ChatOptions { MaxOutputTokens = _options.MaximumReplyTokens, Temperature = 0.8f, ConversationId = UserId };
        // The mind is read by its own task into a channel, and every event carries all the text that has
        // arrived since the reader last asked: one piece per event when the reader keeps up (as tokens
        // stream), several when it does not (a busy node), so the cost per reply falls as load rises.
        var pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var mindClock = new MindClock();
        var producer = Task.Run(() => ReadMindAsync(client, messages, chatOptions, pieces.Writer, watchdog, mindClock), CancellationToken.None);
        var batch = new StringBuilder();
        long lastEvent = 0;
        try
        {
            if (accepted is not null)
            {
                foreach (var acceptedEvent in await accepted)
                {
                    run.WaitingForConsumerSince = timeProvider.GetTimestamp();
                    yield return acceptedEvent;
                    run.WaitingForConsumerSince = null;
                }
            }

            while (status == TurnStatus.Streaming)
            {
                batch.Clear();
                try
                {
                    if (!await pieces.Reader.WaitToReadAsync(cancellationToken))
                    {
                        status = TurnStatus.Complete;
                        break;
                    }

                    if (lastEvent != 0 && run.EventInterval - Stopwatch.GetElapsedTime(lastEvent) is { Ticks: > 0 } holdBack)
                    {
                        // More text came soon after the last event: let it gather for the rest of the interval, unless the
                        // mind finishes first (the end of a reply is never held back).
                        await Task.WhenAny(producer, Task.Delay(holdBack, cancellationToken));
                    }

                    while (pieces.Reader.TryRead(out var piece))
                    {
                        batch.Append(piece);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    status = TurnStatus.Interrupted;
                }
                catch (OperationCanceledException)
                {
                    status = TurnStatus.Failed;
                    errorCode = ReplyErrorCodes.MindTimeout;
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    LogMindFailed(logger, UserId, exception);
                    status = TurnStatus.Failed;
                    errorCode = ReplyErrorCodes.MindFailed;
                }

                if (batch.Length > 0)
                {
                    var piece = batch.ToString();
                    text.Append(piece);
                    var mindWait = 0.0;
                    if (text.Length == piece.Length && mindClock.FirstToken != 0)
                    {
                        // The first token: how long the mind itself took, so the platform's share can be told apart.
                        var waited = Stopwatch.GetElapsedTime(mindClock.Started, mindClock.FirstToken);
                        timings.Record(TurnStage.MindFirstToken, waited);
                        mindWait = (waited + run.MindWait).TotalMilliseconds;
                        if (run.Started != 0)
                        {
                            timings.Record(TurnStage.GrainFirstTokenOverhead, Stopwatch.GetElapsedTime(run.Started) - waited - run.MindWait);
                        }
                    }

                    run.WaitingForConsumerSince = timeProvider.GetTimestamp();
                    lastEvent = Stopwatch.GetTimestamp();
                    yield return new ReplyEvent(ReplyEventKind.Token, piece, MindWaitMilliseconds: mindWait);
                    run.WaitingForConsumerSince = null;
                }
            }
        }
        finally
        {
            // Reached on completion, on failure, and when the caller stops enumerating (the user pressed
            // stop or went away): whatever was produced is stored, marked by how it ended.
            if (status == TurnStatus.Streaming)
            {
                status = TurnStatus.Interrupted;
            }

            // Stop reading the mind (a no-op when it finished) and let its task end before the watchdog goes.
            await watchdog.CancelAsync();
            await producer;

            // A reply superseded by a retry of the same message (its reader went away with a node) is not
            // stored: the retry writes the answer the user actually gets.
            if (!run.Superseded && (text.Length > 0 || status != TurnStatus.Interrupted))
            {
                var storing = Stopwatch.GetTimestamp();
                var turn = await conversations.AppendAsync(UserId, TurnRole.Companion, text.ToString().Trim(), status, timeProvider.GetUtcNow(), cancellationToken: CancellationToken.None);
                Lap(TurnStage.StoreReply, storing);
                Remember(turn);
                _lastStoredReply = turn;
            }

            _replyBeingWritten = false;
            if (_pendingCutOff is { } heard)
            {
                _pendingCutOff = null;
                await ApplyCutOffAsync(heard);
            }
        }

        // Every event waits for its reader, the last ones too: a reader that died after the reply was stored, before it
        // read "done", must not keep the companion busy (a retry takes over after AbandonedReplyTimeout).
        run.WaitingForConsumerSince = timeProvider.GetTimestamp();
        if (errorCode is not null)
        {
            yield return new ReplyEvent(ReplyEventKind.Error, errorCode == ReplyErrorCodes.MindTimeout ? "The mind took too long to answer." : "The mind failed while answering.", _lastStoredReply?.Id ?? 0, status, errorCode);
            run.WaitingForConsumerSince = timeProvider.GetTimestamp();
        }

        // The mind's whole time (its stream, and a naming call), so that the node can tell its own share of the turn.
        var mindTime = mindClock.Ended == 0 ? 0 : (run.MindWait + Stopwatch.GetElapsedTime(mindClock.Started, mindClock.Ended)).TotalMilliseconds;
        yield return new ReplyEvent(ReplyEventKind.Completed, TurnId: _lastStoredReply?.Id ?? 0, Status: status, MindWaitMilliseconds: mindTime);
        run.WaitingForConsumerSince = null;
    }

    /// <summary>Streams the mind's text into <paramref name="pieces"/>; the channel completes with the mind's error, if any.</summary>
    private async Task ReadMindAsync(IChatClient client, List<ChatMessage> messages, ChatOptions chatOptions, ChannelWriter<string> pieces, CancellationTokenSource watchdog, MindClock clock)
    {
        clock.Started = Stopwatch.GetTimestamp();
        try
        {
            // The gap timer is pushed back at most every 100 ms: resetting a timer per token took a lock in
            // the runtime's timer queue that every streaming reply contended for.
            var lastReset = 0L;
            await foreach (var update in client.GetStreamingResponseAsync(messages, chatOptions, watchdog.Token).WithCancellation(watchdog.Token))
            {
                if (lastReset == 0 || Stopwatch.GetElapsedTime(lastReset) > TimeSpan.FromMilliseconds(100))
                {
                    if (lastReset == 0)
                    {
                        // The mind has read the whole prompt before it says anything: let the prompt (the persona,
                        // memories and history, often tens of kilobytes) go now rather than at the end of the
                        // reply. Under load hundreds of replies stream at once, and prompts kept alive that long
                        // were most of what each garbage collection had to copy.
                        messages.Clear();
                    }

                    watchdog.CancelAfter(_options.TokenGapTimeout);
                    lastReset = Stopwatch.GetTimestamp();
                }

                if (!string.IsNullOrEmpty(update.Text))
                {
                    if (clock.FirstToken == 0)
                    {
                        clock.FirstToken = Stopwatch.GetTimestamp();
                    }

                    pieces.TryWrite(update.Text);
                }
            }

            clock.Ended = Stopwatch.GetTimestamp();
            pieces.TryComplete();
        }
        catch (Exception exception)
        {
            pieces.TryComplete(exception);
        }
    }

    private async Task<(string Name, string Reason)?> TryChooseNameAsync(IChatClient client, string language, CancellationToken cancellationToken)
    {
        var conversation = PromptComposer.SelectHistory(_recent, _options.HistoryTokenBudget).ToList();
        try
        {
            var (name, reason) = await CompanionNamer.ChooseAsync(client, conversation, language, cancellationToken);
            state.State.Profile = state.State.Profile with { Name = name, NameReason = reason };
            return (name, reason);
        }
        catch (FormatException exception)
        {
            // The companion keeps getting to know the user and tries again on the next message.
            LogNamingFailed(logger, UserId, exception);
            return null;
        }
    }

    /// <summary>
    /// Writes <paramref name="turn"/> and the <paramref name="turnsWritten"/> − 1 turns before it into long-term
    /// memory (earlier ones gain their next neighbour), with one more turn before them as context.
    /// </summary>
    private async Task RememberAsync(ConversationTurn turn, int turnsWritten = 2)
    {
        if (_memory is null)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var index = _recent.FindIndex(recent => recent.Id == turn.Id);
        var upTo = index >= 0 ? _recent.GetRange(Math.Max(0, index - turnsWritten), Math.Min(index, turnsWritten) + 1) : [turn];
        await _memory.RememberAsync(UserId, upTo, CancellationToken.None);
        Lap(TurnStage.Remember, started);
    }

    /// <summary>Records the time since <paramref name="started"/> for <paramref name="stage"/> and returns now.</summary>
    private long Lap(TurnStage stage, long started)
    {
        var now = Stopwatch.GetTimestamp();
        timings.Record(stage, Stopwatch.GetElapsedTime(started, now));
        return now;
    }

    /// <summary>
    /// (Re)starts the idle clock: when nothing is said for a while, the conversation's memories are
    /// consolidated. The timer is the fast path; a reminder (durable: in the cluster database) is the
    /// backstop that brings the companion back, on whichever node is alive, if this one dies first.
    /// </summary>
    private async Task ScheduleConsolidationAsync()
    {
        if (_memory is null)
        {
            return;
        }

        _idleTimer?.Dispose();
        _idleTimer = this.RegisterGrainTimer(ConsolidateAsync, new GrainTimerCreationOptions(_options.ConsolidateAfterIdle, Timeout.InfiniteTimeSpan) { KeepAlive = true });
        if (_consolidationReminder is null)
        {
            var period = _options.ConsolidateAfterIdle < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : _options.ConsolidateAfterIdle;
            try
            {
                _consolidationReminder = await this.RegisterOrUpdateReminder(ConsolidationReminder, period, period);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Only the backstop is missing; the timer still consolidates while this node lives.
                LogReminderFailed(logger, UserId, exception);
            }
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ConsolidationReminder)
        {
            return;
        }

        // One tick is all the backstop is for: consolidate what is due, then remove the reminder (the next
        // turn sets it again). A reminder left ticking would wake an idle companion again and again and keep
        // it in memory, and retry a mind that cannot consolidate forever.
        var pending = _recent.Where(turn => turn.Id > state.State.ConsolidatedThroughTurnId && turn.Text.Length > 0).ToList();
        if (pending.Count > 0 && _memory is not null && mind.Client is not null && _activeReply is null
            && timeProvider.GetUtcNow() - pending[^1].CreatedAt >= _options.ConsolidateAfterIdle)
        {
            await ConsolidateAsync(CancellationToken.None);
        }

        _consolidationReminder ??= await this.GetReminder(ConsolidationReminder);
        if (_consolidationReminder is not null)
        {
            await this.UnregisterReminder(_consolidationReminder);
            _consolidationReminder = null;
        }
    }

    private async Task ConsolidateAsync(CancellationToken cancellationToken)
    {
        // A one-shot timer (no period): it is not disposed here, which would cancel this very callback;
        // a new turn replaces it (and cancels a consolidation still running, which is retried later).
        if (_memory is null || mind.Client is not { } client || _activeReply is not null)
        {
            return;
        }

        var turns = _recent.Where(turn => turn.Id > state.State.ConsolidatedThroughTurnId && turn.Text.Length > 0).ToList();
        if (turns.Count == 0)
        {
            return;
        }

        var outcome = await _memory.ConsolidateAsync(UserId, turns, client, cancellationToken);
        if (outcome.Error is null)
        {
            state.State.ConsolidatedThroughTurnId = turns[^1].Id;
            await state.WriteStateAsync(cancellationToken);
            LogConsolidated(logger, UserId, outcome.Added, outcome.Merged, outcome.Retired);
        }
        else
        {
            // Nothing was stored; the same turns are tried again after the next quiet spell.
            LogConsolidationFailed(logger, UserId);
        }
    }

    private void Remember(ConversationTurn turn)
    {
        if (_recent.Exists(recent => recent.Id == turn.Id))
        {
            return; // a message written while the mind started is remembered once, whichever path sees it first
        }

        _recent.Add(turn);
        _turnCount++;
        if (_recent.Count > _options.RecentTurns)
        {
            _recent.RemoveRange(0, _recent.Count - _options.RecentTurns);
        }
    }

    /// <summary>A short first answer like "I'm Mina" or "민아예요" gives the user's name; anything longer is left alone.</summary>
    internal static string? GuessUserName(string text)
    {
        var words = text.Trim().TrimEnd('.', '!', '~').Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string? candidate = words switch
        {
            [var only] => only,
            ["I'm" or "Im" or "Call" or "call", var name] => name,
            ["I" or "i", "am", var name] => name,
            ["It's" or "it's", var name] => name,
            ["My" or "my", "name", "is", var name] => name,
            ["저는" or "나는" or "제", .. var rest] when rest.Length == 1 => rest[0],
            _ => null,
        };
        if (candidate is null)
        {
            return null;
        }

        foreach (var suffix in (string[])["이에요", "예요", "입니다", "이야", "야", "요", "라고 해요"])
        {
            if (candidate.Length > suffix.Length + 1 && candidate.EndsWith(suffix, StringComparison.Ordinal))
            {
                candidate = candidate[..^suffix.Length];
                break;
            }
        }

        candidate = candidate.Trim(',', '.', '!', '?');
        return candidate.Length is > 0 and <= 30 && candidate.All(char.IsLetter) ? candidate : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Companion {UserId}: no mind is connected; the message was stored without a reply.")]
    private static partial void LogNoMind(ILogger logger, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Companion {UserId}: the mind failed while answering.")]
    private static partial void LogMindFailed(ILogger logger, string userId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Companion {UserId}: the mind's name choice was not usable; will try again next turn.")]
    private static partial void LogNamingFailed(ILogger logger, string userId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Companion {UserId}: memories consolidated ({Added} added, {Merged} merged, {Retired} retired).")]
    private static partial void LogConsolidated(ILogger logger, string userId, int added, int merged, int retired);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Companion {UserId}: the mind's memory extraction was unusable; nothing was stored.")]
    private static partial void LogConsolidationFailed(ILogger logger, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Companion {UserId}: the idle clock could not be restarted after a turn; the next turn starts it again.")]
    private static partial void LogIdleClockFailed(ILogger logger, string userId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Companion {UserId}: the consolidation reminder could not be registered; the idle timer still runs.")]
    private static partial void LogReminderFailed(ILogger logger, string userId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Companion {UserId}: a finished turn could not be written into long-term memory.")]
    private static partial void LogRememberFailed(ILogger logger, string userId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Companion {UserId}: a reply nobody was reading any more was cancelled for a new turn.")]
    private static partial void LogReplyAbandoned(ILogger logger, string userId);

    /// <summary>The reply being written: its cancellation, and since when it has been waiting for its reader to take the next event.</summary>
    private sealed class ReplyRun(CancellationTokenSource source)
    {
        public CancellationTokenSource Source { get; } = source;

        public long? WaitingForConsumerSince { get; set; }

        public bool Superseded { get; set; }

        /// <summary>When the turn began in the grain (a Stopwatch time stamp; 0 for a first greeting).</summary>
        public long Started { get; set; }

        /// <summary>Time this turn spent waiting for the mind before the reply (choosing the companion's name).</summary>
        public TimeSpan MindWait { get; set; }

        /// <summary>The shortest time between two token events (<see cref="CompanionOptions.TextEventInterval"/>; 0 for speech).</summary>
        public TimeSpan EventInterval { get; set; }
    }

    /// <summary>Clears the busy guard when a reply ends, however it ends.</summary>
    private readonly struct ActiveReply(CompanionGrain grain, ReplyRun run) : IDisposable
    {
        public ReplyRun Run => run;

        public CancellationToken Token => run.Source.Token;

        public void Dispose()
        {
            if (ReferenceEquals(grain._activeReply, run))
            {
                grain._activeReply = null;
            }

            run.Source.Dispose();
        }
    }

    /// <summary>When the mind was asked and when its first text arrived (Stopwatch time stamps), written by the reading task before the first piece is queued.</summary>
    private sealed class MindClock
    {
        public long Started { get; set; }

        public long FirstToken { get; set; }

        /// <summary>When the mind's stream ended (0 while it runs, or when it failed).</summary>
        public long Ended { get; set; }
    }
}

/// <summary>Names of the grain storage providers the host must register.</summary>
public static class StorageNames
{
    public const string Companions = "companions";
}
