using Anima.Memory.Consolidation;
using Anima.Memory.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Anima.Memory.Tests;

public sealed class MemoryConsolidatorTests : IAsyncLifetime
{
    private const string User = "user-7";
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"anima-consolidate-{Guid.NewGuid():N}.db");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 0, 30, 0, TimeSpan.Zero));
    private SqliteMemoryStore _store = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private ConversationTurn[] Turns =>
    [
        new("turn-a", TurnSpeaker.User, "안녕! 나 다음 주 화요일에 카카오 면접 있어. 그리고 부산으로 이사했어.", new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.FromHours(9)), 0.7),
        new("turn-b", TurnSpeaker.Companion, "와, 축하해요! 면접 준비는 어떻게 하고 있어요?", new DateTimeOffset(2026, 11, 23, 9, 1, 0, TimeSpan.FromHours(9))),
        new("turn-c", TurnSpeaker.User, "언니 민지가 도와주고 있어. 고마워!", new DateTimeOffset(2026, 11, 23, 9, 2, 0, TimeSpan.FromHours(9)), 0.3),
    ];

    public async ValueTask InitializeAsync()
    {
        _store = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = _path }, _time);
        await _store.InitializeAsync(Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(_path + suffix);
        }
    }

    private Memory Existing(string text, MemoryKind kind = MemoryKind.Fact) => new()
    {
        Id = Guid.NewGuid(),
        UserId = User,
        Kind = kind,
        Text = text,
        CreatedAt = _time.GetUtcNow().AddDays(-30),
        Importance = 0.5,
        Confidence = 0.7,
        Provenance = ["old-turn"],
    };

    [Fact]
    public async Task Consolidate_ValidExtraction_StoresMemoriesEventDateAndReflection()
    {
        var mind = new FakeChatClient(_ => """
            {"memories":[
              {"kind":"event","text":"다음 주 화요일에 카카오 면접이 있다","importance":0.9,"confidence":0.9,"eventDate":"2026-12-01T14:00","supersedes":[],"turns":["t1"]},
              {"kind":"person","text":"언니 민지가 면접 준비를 도와주고 있다","importance":0.6,"turns":["t3"]}
            ],"reflection":"사용자가 큰 변화를 앞두고 나에게 먼저 이야기해 주었다."}
            """);
        var consolidator = new MemoryConsolidator(_store, mind, _time);

        var result = await consolidator.ConsolidateAsync(User, Turns, Token);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(2, result.Added.Count);
        var interview = result.Added[0];
        Assert.Equal(MemoryKind.Event, interview.Kind);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 14, 0, 0, TimeSpan.FromHours(9)), interview.EventDate);
        Assert.Equal(["turn-a"], interview.Provenance);
        Assert.Equal(0.7, interview.EmotionalWeight);
        Assert.Equal(0.8, result.Added[1].Confidence);
        Assert.NotNull(result.Reflection);
        Assert.Equal(["turn-a", "turn-b", "turn-c"], result.Reflection.Provenance);
        Assert.Equal(3, await _store.CountAsync(User, cancellationToken: Token));
        Assert.Equal(ChatResponseFormat.Json, mind.LastOptions?.ResponseFormat);
    }

    [Theory]
    [InlineData("Sure! Here are the memories: {\"memories\":[]}")]
    [InlineData("{\"memories\":[{\"kind\":\"fact\",\"text\":\"x y z\",\"importance\":1.5}]}")]
    [InlineData("{\"memories\":[{\"kind\":\"gossip\",\"text\":\"Minji likes cake\",\"importance\":0.5}]}")]
    [InlineData("{\"memories\":[{\"kind\":\"fact\",\"text\":\"Minji likes cake\",\"importance\":0.5,\"eventDate\":\"next Tuesday\"}]}")]
    [InlineData("{\"memories\":[{\"kind\":\"fact\",\"text\":\"Minji likes cake\",\"importance\":0.5,\"supersedes\":[\"m99\"]}]}")]
    [InlineData("{\"memories\":[{\"kind\":\"fact\",\"text\":\"Minji likes cake\",\"importance\":0.5,\"turns\":[\"t42\"]}]}")]
    [InlineData("{\"memories\":[{\"kind\":\"fact\",\"text\":\"Minji likes cake\",\"importance\":0.5,\"mood\":\"happy\"}]}")]
    [InlineData("{\"memories\":[{\"kind\":\"fact\",\"text\":\"\",\"importance\":0.5}]}")]
    [InlineData("{\"memories\":[{\"kind\":\"fact\",\"text\":\"Minji likes cake\"}]}")]
    [InlineData("{\"facts\":[]}")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"memories\":[],\"reflection\":42}")]
    [InlineData("{\"memories\":[{\"kind\":\"fact\",\"text\":\"Minji likes cake\",\"importance\":0.5}]")]
    [InlineData("")]
    public async Task Consolidate_MalformedOutput_StoresNothingAndReportsError(string output)
    {
        await _store.UpsertAsync(User, Existing("Lives in Seoul"), Token);
        var consolidator = new MemoryConsolidator(_store, new FakeChatClient(_ => output), _time);

        var result = await consolidator.ConsolidateAsync(User, Turns, Token);

        Assert.False(result.Succeeded);
        Assert.Contains("nothing was stored", result.Error, StringComparison.Ordinal);
        Assert.Equal(1, await _store.CountAsync(User, cancellationToken: Token));
        Assert.False((await _store.ListAsync(User, new MemoryListQuery(), Token)).Items.Single().IsRetired);
    }

    [Fact]
    public async Task Consolidate_TooManyMemories_Rejected()
    {
        var items = string.Join(',', Enumerable.Range(0, ExtractionParser.MaxMemories + 1).Select(index => $"{{\"kind\":\"fact\",\"text\":\"fact number {index} here\",\"importance\":0.5}}"));
        var consolidator = new MemoryConsolidator(_store, new FakeChatClient(_ => $"{{\"memories\":[{items}]}}"), _time);

        var result = await consolidator.ConsolidateAsync(User, Turns, Token);

        Assert.False(result.Succeeded);
        Assert.Equal(0, await _store.CountAsync(User, cancellationToken: Token));
    }

    [Fact]
    public async Task Consolidate_Contradiction_RetiresOldFactAndLinksNewOne()
    {
        var seoul = Existing("서울에 살고 있다");
        await _store.UpsertAsync(User, seoul, Token);
        var mind = new FakeChatClient(messages =>
        {
            // The existing memory is offered to the mind as m1.
            Assert.Contains("m1 [fact] 서울에 살고 있다", messages[1].Text, StringComparison.Ordinal);
            return """{"memories":[{"kind":"fact","text":"부산으로 이사해서 부산에 살고 있다","importance":0.8,"supersedes":["m1"],"turns":["t1"]}],"reflection":null}""";
        });
        var consolidator = new MemoryConsolidator(_store, mind, _time);

        var result = await consolidator.ConsolidateAsync(User, Turns, Token);

        Assert.True(result.Succeeded, result.Error);
        var busan = Assert.Single(result.Added);
        var old = await _store.GetAsync(User, seoul.Id, Token);
        Assert.True(old!.IsRetired);
        Assert.Equal(busan.Id, old.SupersededBy);
        Assert.Empty(await _store.SearchAsync(User, new MemorySearchQuery { Text = "서울" }, Token));
        Assert.Single(await _store.SearchAsync(User, new MemorySearchQuery { Text = "부산" }, Token));
    }

    [Fact]
    public async Task Consolidate_RepeatedFact_MergesIntoExisting()
    {
        var sister = Existing("Her sister Minji lives in Daejeon", MemoryKind.Person);
        await _store.UpsertAsync(User, sister, Token);
        var mind = new FakeChatClient(_ => """
            {"memories":[
              {"kind":"person","text":"Her sister Minji lives in Daejeon.","importance":0.8,"confidence":0.95,"turns":["t3"]},
              {"kind":"fact","text":"Her sister Minji lives in Daejeon!","importance":0.3,"turns":["t3"]}
            ],"reflection":null}
            """);
        var consolidator = new MemoryConsolidator(_store, mind, _time);

        var result = await consolidator.ConsolidateAsync(User, Turns, Token);

        Assert.True(result.Succeeded, result.Error);
        Assert.Empty(result.Added);
        var merged = Assert.Single(result.Merged);
        Assert.Equal(sister.Id, merged.Id);
        Assert.Equal(2, result.Rejected[JunkReason.Duplicate]);
        var stored = await _store.GetAsync(User, sister.Id, Token);
        Assert.Equal(0.8, stored!.Importance);
        Assert.Equal(0.95, stored.Confidence);
        Assert.Equal(["old-turn", "turn-c"], stored.Provenance);
        Assert.Equal(1, await _store.CountAsync(User, cancellationToken: Token));
    }

    [Fact]
    public async Task Consolidate_JunkProposals_AreNotStored()
    {
        var mind = new FakeChatClient(_ => """
            {"memories":[
              {"kind":"fact","text":"고마워!","importance":0.2},
              {"kind":"fact","text":"The user greeted the assistant","importance":0.2},
              {"kind":"fact","text":"Busy","importance":0.2},
              {"kind":"preference","text":"Prefers green tea to coffee","importance":0.4}
            ],"reflection":"ok"}
            """);
        var consolidator = new MemoryConsolidator(_store, mind, _time);

        var result = await consolidator.ConsolidateAsync(User, Turns, Token);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal("Prefers green tea to coffee", Assert.Single(result.Added).Text);
        Assert.Equal(1, result.Rejected[JunkReason.Pleasantry]);
        Assert.Equal(1, result.Rejected[JunkReason.MetaTalk]);
        Assert.Equal(1, result.Rejected[JunkReason.TooShort]);
        Assert.Null(result.Reflection);
    }

    [Fact]
    public async Task Consolidate_MindThrows_ReportsErrorAndStoresNothing()
    {
        var consolidator = new MemoryConsolidator(_store, new FakeChatClient(_ => throw new HttpRequestException("connection refused")), _time);

        var result = await consolidator.ConsolidateAsync(User, Turns, Token);

        Assert.False(result.Succeeded);
        Assert.Contains("connection refused", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, await _store.CountAsync(User, cancellationToken: Token));
    }

    [Fact]
    public async Task Consolidate_WithEmbeddingGenerator_EmbedsNewMemories()
    {
        var generator = new FakeEmbeddingGenerator(["tea", "coffee"], ["sister", "minji"]);
        var mind = new FakeChatClient(_ => """{"memories":[{"kind":"preference","text":"Prefers green tea to coffee","importance":0.4}],"reflection":null}""");
        var consolidator = new MemoryConsolidator(_store, mind, _time, embeddings: generator);

        var result = await consolidator.ConsolidateAsync(User, Turns, Token);

        var stored = await _store.GetAsync(User, result.Added[0].Id, Token);
        Assert.Equal(new float[] { 2f, 0f }, stored!.Embedding!);
    }

    [Fact]
    public void BuildPrompt_KoreanConversation_AsksToKeepUserLanguageAndListsTurns()
    {
        var messages = MemoryConsolidator.BuildPrompt([], Turns, Turns[0].At);

        Assert.Contains("SAME LANGUAGE", messages[0].Text, StringComparison.Ordinal);
        Assert.Contains("t1 2026-11-23 09:00 user: 안녕! 나 다음 주 화요일에 카카오 면접 있어.", messages[1].Text, StringComparison.Ordinal);
        Assert.Contains("Today is 2026-11-23 (Monday)", messages[1].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CodeFence_IsTolerated()
    {
        var extraction = ExtractionParser.Parse("```json\n{\"memories\":[],\"reflection\":null}\n```", new HashSet<string>(), new HashSet<string>());

        Assert.Empty(extraction.Memories);
    }

    [Fact]
    public void IdlePolicy_QuietLongEnough_IsDue()
    {
        var policy = new IdlePolicy();
        var now = _time.GetUtcNow();

        Assert.False(policy.IsDue(now, now.AddMinutes(-3), 5));
        Assert.True(policy.IsDue(now, now.AddMinutes(-10), 5));
        Assert.False(policy.IsDue(now, now.AddHours(-5), 0));
        Assert.True(policy.IsDue(now, now, policy.MaxPendingTurns));
    }

    [Fact]
    public void EpisodicMemory_HugeTurn_IsTruncatedAndKeepsProvenance()
    {
        var turn = new ConversationTurn("t-huge", TurnSpeaker.User, new string('가', 20_000), _time.GetUtcNow(), 0.5);

        var memory = EpisodicMemory.FromTurn(User, turn, Turns[1]);

        Assert.Equal(Memory.MaxTextLength, memory.Text.Length);
        Assert.EndsWith("…", memory.Text, StringComparison.Ordinal);
        Assert.Equal(["t-huge"], memory.Provenance);
        Assert.Equal(0.45, memory.Importance);
        Assert.Contains(Turns[1].Text, memory.SearchContext, StringComparison.Ordinal);
    }
}
