using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Anima.Abstractions;
using Anima.Core.Conversation;
using Anima.Core.Memory;
using Anima.Core.Mind;
using Anima.Core.Prompting;
using Anima.Grains;
using Anima.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Anima.Server.Tests;

/// <summary>The companion grain in an in-process Orleans test cluster, with a hand-written mind and a fake clock.</summary>
public sealed class CompanionGrainTests : IAsyncLifetime
{
    private static readonly string Directory = Path.Combine(Path.GetTempPath(), "anima-tests", "grains-" + Guid.NewGuid().ToString("N"));
    private TestCluster _cluster = null!;

    internal static FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));

    internal static ScriptedChatClient Mind { get; } = new();

    internal static GatedConversationMemory Memory { get; } = new();

    public async ValueTask InitializeAsync()
    {
        _cluster = new TestClusterBuilder(1).AddSiloBuilderConfigurator<SiloConfigurator>().Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync() => await _cluster.DisposeAsync();

    private ICompanionGrain Companion(string user) => _cluster.GrainFactory.GetGrain<ICompanionGrain>(user);

    [Fact]
    public async Task Send_StoresUserTurnAtTheClockTimeThenStreamsReply()
    {
        var companion = Companion("grain-user-1");
        Mind.Reply = _ => ["Hello", " there", "."];

        var events = await companion.SendAsync("Hi!", cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ReplyEventKind.Accepted, events[0].Kind);
        // Pieces that arrive together travel as one event; the text is the mind's, in order.
        Assert.Equal("Hello there.", string.Concat(events.Where(e => e.Kind == ReplyEventKind.Token).Select(e => e.Text)));
        Assert.Equal(TurnStatus.Complete, events[^1].Status);
        var history = await companion.GetHistoryAsync(10, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(Clock.GetUtcNow(), history.Turns[0].CreatedAt);
        Assert.Equal(["Hi!", "Hello there."], history.Turns.Select(turn => turn.Text));
    }

    [Fact]
    public async Task Send_WhileReplying_SecondSendIsRefusedAsBusy()
    {
        var companion = Companion("grain-user-2");
        var gate = new TaskCompletionSource();
        Mind.Reply = _ => ["first"];
        Mind.BeforeFirstToken = gate.Task;
        await using var first = companion.SendAsync("one", cancellationToken: TestContext.Current.CancellationToken).WithBatchSize(1).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        Assert.True(await first.MoveNextAsync());
        Assert.Equal(ReplyEventKind.Accepted, first.Current.Kind);

        var refusal = await Assert.ThrowsAsync<CompanionException>(async () =>
            await companion.SendAsync("two", cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken));
        Assert.Equal(ReplyErrorCodes.Busy, refusal.Code);

        gate.SetResult();
        Mind.BeforeFirstToken = Task.CompletedTask;
        while (await first.MoveNextAsync())
        {
        }

        var history = await companion.GetHistoryAsync(10, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["one", "first"], history.Turns.Select(turn => turn.Text));
    }

    [Fact]
    public async Task Send_RightAfterDone_IsAnsweredNotRefused_AndRecallsOnlyOnceThePreviousTurnIsRemembered()
    {
        const string User = "grain-user-quick";
        var cancellationToken = TestContext.Current.CancellationToken;
        var companion = Companion(User);
        var held = new TaskCompletionSource();
        Memory.Gates[User] = held.Task;
        Mind.Reply = _ => ["first reply"];
        await using var first = companion.SendAsync("one", cancellationToken: cancellationToken).WithBatchSize(1).GetAsyncEnumerator(cancellationToken);
        while (await first.MoveNextAsync() && first.Current.Kind != ReplyEventKind.Completed)
        {
        }

        // "done" has been read; the first turn is still being written into long-term memory (held back), and its
        // reader has not asked for anything more. A quick second message is not refused as busy:
        Assert.Equal(ReplyEventKind.Completed, first.Current.Kind);
        Mind.Reply = _ => ["second reply"];
        var second = companion.SendAsync("two", cancellationToken: cancellationToken).ToListAsync(cancellationToken).AsTask();
        await Task.Delay(300, cancellationToken);
        // ...it waits for that write before it recalls,
        Assert.False(second.IsCompleted);
        Assert.Empty(Memory.Remembered(User));
        held.SetResult();

        // ...then is answered in full, and the memory has both turns in order.
        var events = await second;
        Assert.Equal(TurnStatus.Complete, events[^1].Status);
        Assert.Equal("second reply", string.Concat(events.Where(e => e.Kind == ReplyEventKind.Token).Select(e => e.Text)));
        await companion.WhenRememberedAsync(cancellationToken);
        Assert.Equal(["one", "first reply", "two", "second reply"], Memory.Remembered(User).Distinct());
        while (await first.MoveNextAsync())
        {
        }
    }

    [Fact]
    public async Task Stop_MidReply_StoresWhatWasWrittenAsInterrupted()
    {
        var companion = Companion("grain-user-3");
        var tokens = Channel.CreateUnbounded<string>();
        Mind.Stream = tokens.Reader;
        await using var reply = companion.SendAsync("tell me", cancellationToken: TestContext.Current.CancellationToken).WithBatchSize(1).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        Assert.True(await reply.MoveNextAsync());
        await tokens.Writer.WriteAsync("Once", TestContext.Current.CancellationToken);
        Assert.True(await reply.MoveNextAsync());
        Assert.Equal("Once", reply.Current.Text);
        await tokens.Writer.WriteAsync(" upon", TestContext.Current.CancellationToken);
        Assert.True(await reply.MoveNextAsync());
        Assert.Equal(" upon", reply.Current.Text);

        Assert.True(await companion.StopAsync(TestContext.Current.CancellationToken));
        var rest = new List<ReplyEvent>();
        while (await reply.MoveNextAsync())
        {
            rest.Add(reply.Current);
        }

        Mind.Stream = null;
        Assert.Equal(TurnStatus.Interrupted, rest[^1].Status);
        var history = await companion.GetHistoryAsync(10, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(("Once upon", TurnStatus.Interrupted), (history.Turns[1].Text, history.Turns[1].Status));
        Assert.False(await companion.StopAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task CutOffReply_AfterReplyStored_KeepsOnlyTheHeardPrefixAndTellsTheNextPrompt()
    {
        var companion = Companion("grain-user-cut-1");
        Mind.Reply = _ => ["Hello to you too.", " It is good to hear", " your voice again today."];
        await companion.SendSpokenAsync("hello", null, TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);

        Assert.False(await companion.CutOffReplyAsync("Something it never said", TestContext.Current.CancellationToken));
        Assert.True(await companion.CutOffReplyAsync("Hello to you too. It is good", TestContext.Current.CancellationToken));
        var history = await companion.GetHistoryAsync(10, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(("Hello to you too. It is good", TurnStatus.Interrupted), (history.Turns[1].Text, history.Turns[1].Status));

        IList<ChatMessage>? prompt = null;
        Mind.Reply = messages =>
        {
            prompt = messages;
            return ["Sorry, go on."];
        };
        await companion.SendSpokenAsync("wait, listen", null, TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        var cut = Assert.Single(prompt!, message => message.Role == ChatRole.Assistant);
        Assert.Equal("Hello to you too. It is good — [the user cut you off here; they did not hear the rest]", cut.Text);
    }

    [Fact]
    public async Task CutOffReply_WhileReplyIsWritten_StopsItAndStoresTheHeardPrefix()
    {
        var companion = Companion("grain-user-cut-2");
        var tokens = Channel.CreateUnbounded<string>();
        Mind.Stream = tokens.Reader;
        try
        {
            await using var reply = companion.SendSpokenAsync("tell me", null, TestContext.Current.CancellationToken).WithBatchSize(1).GetAsyncEnumerator(TestContext.Current.CancellationToken);
            Assert.True(await reply.MoveNextAsync());
            await tokens.Writer.WriteAsync("Once upon a time", TestContext.Current.CancellationToken);
            await tokens.Writer.WriteAsync(" there was a fox.", TestContext.Current.CancellationToken);
            Assert.True(await reply.MoveNextAsync());
            Assert.True(await reply.MoveNextAsync());

            Assert.True(await companion.CutOffReplyAsync("Once upon", TestContext.Current.CancellationToken));
            while (await reply.MoveNextAsync())
            {
            }
        }
        finally
        {
            Mind.Stream = null;
        }

        var history = await companion.GetHistoryAsync(10, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(("Once upon", TurnStatus.Interrupted), (history.Turns[1].Text, history.Turns[1].Status));
    }

    [Fact]
    public async Task VoiceBaseline_Saved_IsReturnedAndMalformedOnesAreRefused()
    {
        var companion = Companion("grain-user-voice");
        Assert.Null(await companion.GetVoiceBaselineAsync(TestContext.Current.CancellationToken));

        await companion.SaveVoiceBaselineAsync(new VoiceBaseline(3, [1.5, -2], [0.25, 4]), TestContext.Current.CancellationToken);
        var saved = await companion.GetVoiceBaselineAsync(TestContext.Current.CancellationToken);
        Assert.Equal(3, saved!.Count);
        Assert.Equal([1.5, -2], saved.Means);
        Assert.Equal([0.25, 4.0], saved.Variances);

        var refused = await Assert.ThrowsAsync<CompanionException>(() => companion.SaveVoiceBaselineAsync(new VoiceBaseline(3, [1.5, double.NaN], [0.25, 4]), TestContext.Current.CancellationToken));
        Assert.Equal("invalid-voice-baseline", refused.Code);
        await Assert.ThrowsAsync<CompanionException>(() => companion.SaveVoiceBaselineAsync(new VoiceBaseline(3, [1.5], [0.25, 4]), TestContext.Current.CancellationToken));
        Assert.Equal(3, (await companion.GetVoiceBaselineAsync(TestContext.Current.CancellationToken))!.Count);
    }

    [Theory]
    [InlineData("Hello there.  How are you?", "Hello there. How", "Hello there.  How")]
    [InlineData("Hello there.", "", "")]
    [InlineData("Hello there.", "Hello there. More", null)]
    [InlineData("Hello there.", "Hullo", null)]
    public void HeardPrefix_IgnoresWhitespaceDifferencesAndRefusesOtherText(string reply, string heard, string? expected)
    {
        Assert.Equal(expected, CompanionGrain.HeardPrefix(reply, heard));
    }

    [Fact]
    public async Task Send_NoMind_StoresMessageAndReportsUnavailable()
    {
        var companion = Companion("grain-user-4");
        Mind.Connected = false;
        try
        {
            var events = await companion.SendAsync("anyone?", cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);

            Assert.Equal([ReplyEventKind.Accepted, ReplyEventKind.Error], events.Select(e => e.Kind));
            Assert.Equal(ReplyErrorCodes.MindUnavailable, events[1].ErrorCode);
            Assert.Single((await companion.GetHistoryAsync(10, cancellationToken: TestContext.Current.CancellationToken)).Turns);
        }
        finally
        {
            Mind.Connected = true;
        }
    }

    [Fact]
    public async Task Send_WhileTheMessageIsBeingWritten_TheMindStartsButNothingReachesTheReaderBeforeItIsStored()
    {
        const string user = "grain-user-overlap";
        var companion = await NamedCompanionAsync(user);
        var written = new TaskCompletionSource();
        GatedConversationStore.Gates[user] = written.Task;
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Mind.Reply = _ =>
        {
            asked.TrySetResult();
            return ["Of course."];
        };
        try
        {
            await using var reply = companion.SendAsync("Please remember the blue door.", cancellationToken: TestContext.Current.CancellationToken).WithBatchSize(1).GetAsyncEnumerator(TestContext.Current.CancellationToken);
            try
            {
                var first = reply.MoveNextAsync().AsTask();

                // The mind is asked while the message is still being written, and the reader hears nothing until it is stored.
                await asked.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
                await Task.Delay(200, TestContext.Current.CancellationToken);
                Assert.False(first.IsCompleted);

                written.SetResult();
                Assert.True(await first);
                Assert.Equal(ReplyEventKind.Accepted, reply.Current.Kind);
                var kinds = new List<ReplyEventKind>();
                while (await reply.MoveNextAsync())
                {
                    kinds.Add(reply.Current.Kind);
                }

                Assert.Equal(ReplyEventKind.Completed, kinds[^1]);
            }
            finally
            {
                // A failed assertion must fail the test, not hang it: with the write held forever the reply could never
                // end, and disposing its reader would wait for it.
                written.TrySetResult();
            }
            var history = await companion.GetHistoryAsync(2, cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(["Please remember the blue door.", "Of course."], history.Turns.Select(turn => turn.Text));
        }
        finally
        {
            GatedConversationStore.Gates.TryRemove(user, out _);
            Mind.Reply = _ => ["ok"];
        }
    }

    [Fact]
    public async Task Send_MessageWriteFails_TheTurnFailsWithNothingStoredAndTheCompanionIsFreeAgain()
    {
        const string user = "grain-user-write-fails";
        var companion = await NamedCompanionAsync(user);
        var before = await companion.GetHistoryAsync(10, cancellationToken: TestContext.Current.CancellationToken);
        GatedConversationStore.Gates[user] = Task.FromException(new IOException("The disk is full."));
        try
        {
            var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
                await companion.SendAsync("This will not be stored.", cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken));
            Assert.Contains("disk is full", failure.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            GatedConversationStore.Gates.TryRemove(user, out _);
        }

        var after = await companion.GetHistoryAsync(10, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(before.Turns.Select(turn => turn.Text), after.Turns.Select(turn => turn.Text));
        var events = await companion.SendAsync("And this one?", cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        Assert.Equal(TurnStatus.Complete, events[^1].Status);
    }

    [Fact]
    public async Task Send_FastMind_PiecesTravelTogetherButTheFirstAndTheEndAreNotHeldBack()
    {
        var companion = await NamedCompanionAsync("grain-user-coalesce");
        var tokens = Channel.CreateUnbounded<string>();
        Mind.Stream = tokens.Reader;
        try
        {
            // 40 tokens, one every 5 ms (200/s): written text gets an event at most every 50 ms, not one per token.
            var writer = Task.Run(async () =>
            {
                for (var index = 0; index < 40; index++)
                {
                    await tokens.Writer.WriteAsync($"w{index} ", TestContext.Current.CancellationToken);
                    await Task.Delay(5, TestContext.Current.CancellationToken);
                }

                tokens.Writer.Complete();
            }, TestContext.Current.CancellationToken);
            var events = new List<(ReplyEvent Event, long At)>();
            await foreach (var replyEvent in companion.SendAsync("Count for me.", cancellationToken: TestContext.Current.CancellationToken).WithBatchSize(1).WithCancellation(TestContext.Current.CancellationToken))
            {
                events.Add((replyEvent, System.Diagnostics.Stopwatch.GetTimestamp()));
            }

            await writer;
            var pieces = events.Where(e => e.Event.Kind == ReplyEventKind.Token).ToList();
            Assert.Equal(string.Concat(Enumerable.Range(0, 40).Select(index => $"w{index} ")), string.Concat(pieces.Select(e => e.Event.Text)));
            Assert.StartsWith("w0 ", pieces[0].Event.Text, StringComparison.Ordinal);
            Assert.InRange(pieces.Count, 2, 20);
            Assert.Equal(TurnStatus.Complete, events[^1].Event.Status);
        }
        finally
        {
            Mind.Stream = null;
        }
    }

    /// <summary>A companion past its first meeting (it has chosen its name), so its turns take the usual path.</summary>
    private async Task<ICompanionGrain> NamedCompanionAsync(string user)
    {
        var companion = Companion(user);
        Mind.Reply = messages => messages[0].Text.Contains("Choose a name for yourself", StringComparison.Ordinal) ? ["{\"name\": \"Sora\", \"reason\": \"It sounds like the sky.\"}"] : ["ok"];
        try
        {
            await companion.SendAsync("Hi, I'm Mina.", cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
            await companion.SendAsync("Nice to meet you.", cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        }
        finally
        {
            Mind.Reply = _ => ["ok"];
        }

        Assert.True((await companion.GetSnapshotAsync(TestContext.Current.CancellationToken)).Profile.IsNamed);
        return companion;
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            System.IO.Directory.CreateDirectory(Directory);
            var database = new SqliteDatabase(Path.Combine(Directory, "anima.db"));
            siloBuilder.Services.AddSingleton(database);
            siloBuilder.Services.AddSingleton<SqliteConversationStore>();
            siloBuilder.Services.AddSingleton<IConversationStore>(provider => new GatedConversationStore(provider.GetRequiredService<SqliteConversationStore>()));
            siloBuilder.Services.AddSingleton<IMind>(Mind);
            siloBuilder.Services.AddSingleton<IConversationMemory>(Memory);
            siloBuilder.Services.AddSingleton<PromptComposer>();
            siloBuilder.Services.AddSingleton<Anima.Core.Diagnostics.TurnTimings>();
            siloBuilder.Services.AddSingleton<TimeProvider>(Clock);
            siloBuilder.Services.AddOptions<CompanionOptions>();
            siloBuilder.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Companions, (provider, _) => new SqliteGrainStorage(database));
            siloBuilder.UseInMemoryReminderService();
        }
    }
}

/// <summary>The real store, except that a user's own messages can be held back (or failed) by a test.</summary>
internal sealed class GatedConversationStore(IConversationStore inner) : IConversationStore
{
    public static System.Collections.Concurrent.ConcurrentDictionary<string, Task> Gates { get; } = new();

    public async Task<ConversationTurn> AppendAsync(string userId, TurnRole role, string text, TurnStatus status, DateTimeOffset createdAt, PerceivedEmotion? emotion = null, string? messageId = null, CancellationToken cancellationToken = default)
    {
        if (role == TurnRole.User && Gates.TryGetValue(userId, out var gate))
        {
            await gate;
        }

        return await inner.AppendAsync(userId, role, text, status, createdAt, emotion, messageId, cancellationToken);
    }

    public Task<StoredMessage?> FindMessageAsync(string userId, string messageId, CancellationToken cancellationToken = default) => inner.FindMessageAsync(userId, messageId, cancellationToken);

    public Task UpdateAsync(string userId, long turnId, string text, TurnStatus status, CancellationToken cancellationToken = default) => inner.UpdateAsync(userId, turnId, text, status, cancellationToken);

    public Task<ConversationPage> GetPageAsync(string userId, int limit, long? beforeTurnId = null, CancellationToken cancellationToken = default) => inner.GetPageAsync(userId, limit, beforeTurnId, cancellationToken);

    public Task<int> CountAsync(string userId, CancellationToken cancellationToken = default) => inner.CountAsync(userId, cancellationToken);

    public Task<IReadOnlyList<MoodPoint>> GetMoodAsync(string userId, DateTimeOffset since, CancellationToken cancellationToken = default) => inner.GetMoodAsync(userId, since, cancellationToken);

    public Task<int> CountActiveUsersAsync(DateTimeOffset since, CancellationToken cancellationToken = default) => inner.CountActiveUsersAsync(since, cancellationToken);

    public Task<int> RecoverStreamingAsync(string userId, CancellationToken cancellationToken = default) => inner.RecoverStreamingAsync(userId, cancellationToken);
}

/// <summary>Long-term memory that records what each user's companion remembered, and that a test can hold back per user.</summary>
internal sealed class GatedConversationMemory : IConversationMemory
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Concurrent.ConcurrentQueue<string>> _remembered = new();

    public System.Collections.Concurrent.ConcurrentDictionary<string, Task> Gates { get; } = new();

    /// <summary>The texts of the turns remembered for <paramref name="userId"/>, in the order written (a turn may come again with new neighbours).</summary>
    public IReadOnlyList<string> Remembered(string userId) => _remembered.TryGetValue(userId, out var turns) ? [.. turns] : [];

    public async Task RememberAsync(string userId, IReadOnlyList<ConversationTurn> recent, CancellationToken cancellationToken = default)
    {
        if (Gates.TryGetValue(userId, out var gate))
        {
            await gate;
        }

        var turns = _remembered.GetOrAdd(userId, _ => new());
        foreach (var turn in recent)
        {
            turns.Enqueue(turn.Text);
        }
    }

    public Task<ConsolidationOutcome> ConsolidateAsync(string userId, IReadOnlyList<ConversationTurn> turns, IChatClient mind, CancellationToken cancellationToken = default) =>
        Task.FromResult(new ConsolidationOutcome(0, 0, 0, false, null));
}

/// <summary>A hand-written mind: replies from a settable script, or token by token from a channel the test writes.</summary>
internal sealed class ScriptedChatClient : IChatClient, IMind
{
    public Func<IList<ChatMessage>, IEnumerable<string>> Reply { get; set; } = _ => ["ok"];

    public Task BeforeFirstToken { get; set; } = Task.CompletedTask;

    public ChannelReader<string>? Stream { get; set; }

    public bool Connected { get; set; } = true;

    public IChatClient? Client => Connected ? this : null;

    public MindStatus Status => new(Connected, "test", "scripted", null, "test mind");

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            text.Append(update.Text);
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString()));
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await BeforeFirstToken.WaitAsync(cancellationToken);
        if (Stream is { } stream)
        {
            await foreach (var token in stream.ReadAllAsync(cancellationToken))
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, token);
            }

            yield break;
        }

        foreach (var token in Reply(messages.ToList()))
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, token);
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>Fusing the feeling of the words with the feeling of the voice.</summary>
public sealed class EmotionFusionTests
{
    [Fact]
    public void Fuse_VoiceOnly_UsesTheVoiceWithReducedWeight()
    {
        var fused = CompanionGrain.Fuse(null, new HeardEmotion("angry", -0.6f, 0.9f, 0.8f))!;

        Assert.Equal(["angry (voice)"], fused.Labels);
        Assert.Equal((-0.6f, 0.9f, 0.4f), (fused.Valence, fused.Arousal, fused.Weight));
    }

    [Fact]
    public void Fuse_TextAndConfidentVoice_VoiceMovesArousalMoreThanValence()
    {
        var text = new PerceivedEmotion(["neutral"], 0.2f, 0.2f, "en", 0.5f);

        var fused = CompanionGrain.Fuse(text, new HeardEmotion("angry", -0.8f, 1.0f, 1.0f))!;

        Assert.Equal(["neutral", "angry (voice)"], fused.Labels);
        Assert.Equal(0.7f * 0.2f + 0.3f * -0.8f, fused.Valence, 5);
        Assert.Equal(0.4f * 0.2f + 0.6f * 1.0f, fused.Arousal, 5);
        Assert.Equal(0.5f, fused.Weight);
    }

    [Fact]
    public void Fuse_NoVoice_ReturnsTheTextReading()
    {
        var text = new PerceivedEmotion(["joy"], 0.8f, 0.6f, "en");

        Assert.Same(text, CompanionGrain.Fuse(text, null));
    }
}
