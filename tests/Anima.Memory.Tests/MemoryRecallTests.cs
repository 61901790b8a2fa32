using Anima.Memory.Recall;
using Anima.Memory.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Anima.Memory.Tests;

public sealed class MemoryRecallTests : IAsyncLifetime
{
    private const string User = "user-1";
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"anima-recall-{Guid.NewGuid():N}.db");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.FromHours(9)));
    private SqliteMemoryStore _store = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

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

    private Memory Add(string text, MemoryKind kind = MemoryKind.Fact, double importance = 0.5, TimeSpan? age = null, DateTimeOffset? eventDate = null, string user = User) => new()
    {
        Id = Guid.NewGuid(),
        UserId = user,
        Kind = kind,
        Text = text,
        CreatedAt = _time.GetUtcNow() - (age ?? TimeSpan.FromDays(60)),
        Importance = importance,
        EventDate = eventDate,
    };

    [Fact]
    public async Task Recall_SharedWords_RankAboveUnrelated()
    {
        var concert = Add("Went to the IU concert in Daegu with Minji");
        await _store.UpsertManyAsync(User, [Add("Bought new running shoes"), concert, Add("Dentist appointment went fine")], Token);
        var recall = new MemoryRecall(_store, _time);

        var results = await recall.RecallAsync(User, "How was the concert?", 3, Token);

        Assert.Equal(concert.Id, results[0].Memory.Id);
        Assert.Equal(1.0, results[0].Lexical);
    }

    [Fact]
    public async Task Recall_EventOnItsDay_SurfacesWithoutSharedWords()
    {
        var today = _time.GetUtcNow().ToOffset(TimeSpan.FromHours(9));
        var interview = Add("Job interview at Kakao", MemoryKind.Event, eventDate: today.Date.AddHours(14) is var at ? new DateTimeOffset(at, today.Offset) : null);
        var oldEvent = Add("Dentist check-up", MemoryKind.Event, eventDate: today.AddDays(-40));
        await _store.UpsertManyAsync(User, [Add("Likes green tea"), interview, oldEvent], Token);
        var recall = new MemoryRecall(_store, _time, options: new MemoryRecallOptions { RecentCandidates = 0 });

        var results = await recall.RecallAsync(User, "Good morning!", 5, Token);

        Assert.Equal(interview.Id, results[0].Memory.Id);
        Assert.Equal(1.0, results[0].EventProximity);
        Assert.DoesNotContain(results, result => result.Memory.Id == oldEvent.Id);
    }

    [Fact]
    public async Task Recall_EventYesterday_FollowUpQuestionFindsIt()
    {
        var yesterday = _time.GetUtcNow().AddDays(-1);
        var interview = Add("내일 카카오 면접이 있어", MemoryKind.Event, eventDate: yesterday, age: TimeSpan.FromDays(3));
        await _store.UpsertManyAsync(User, [Add("면접 복장으로 정장을 샀어", age: TimeSpan.FromDays(300)), interview], Token);
        var recall = new MemoryRecall(_store, _time);

        var results = await recall.RecallAsync(User, "면접은 어땠어?", 5, Token);

        Assert.Equal(interview.Id, results[0].Memory.Id);
        Assert.True(results[0].EventProximity > 0);
    }

    [Fact]
    public async Task Recall_SameWords_MoreImportantAndNewerFirst()
    {
        var trivial = Add("Had coffee with Jisoo", importance: 0.1, age: TimeSpan.FromDays(200));
        var important = Add("Had coffee with Jisoo", importance: 0.9, age: TimeSpan.FromDays(200));
        var recent = Add("Had coffee with Jisoo", importance: 0.1, age: TimeSpan.FromDays(1));
        await _store.UpsertManyAsync(User, [trivial, important, recent], Token);
        var recall = new MemoryRecall(_store, _time, options: new MemoryRecallOptions { RecentCandidates = 0, ImportantCandidates = 0 });

        var results = await recall.RecallAsync(User, "coffee with Jisoo", 3, Token);

        Assert.Equal([important.Id, recent.Id, trivial.Id], results.Select(result => result.Memory.Id));
    }

    [Fact]
    public async Task Recall_WithEmbeddings_FindsMeaningWithoutSharedWords()
    {
        var generator = new FakeEmbeddingGenerator(["dog", "puppy", "retriever", "walk"], ["tax", "money", "bank"]);
        var dog = Add("Adopted a golden retriever", age: TimeSpan.FromDays(2)) with { Embedding = generator.Embed("retriever puppy") };
        var money = Add("Worried about money at the bank", age: TimeSpan.FromDays(2)) with { Embedding = generator.Embed("money bank") };
        await _store.UpsertManyAsync(User, [money, dog], Token);
        var recall = new MemoryRecall(_store, _time, generator);

        var results = await recall.RecallAsync(User, "Should I take my dog for a walk?", 2, Token);

        Assert.True(recall.UsesEmbeddings);
        Assert.Equal(dog.Id, results[0].Memory.Id);
        Assert.True(results[0].Vector > 0.5);
        Assert.Equal(0, results[0].Lexical);
    }

    [Fact]
    public async Task Recall_RetiredAndOtherUsers_NeverRecalled()
    {
        await _store.UpsertAsync(User, Add("Lives in Seoul") with { IsRetired = true }, Token);
        await _store.UpsertAsync("someone-else", Add("Lives in Seoul near the river", user: "someone-else"), Token);
        var recall = new MemoryRecall(_store, _time);

        Assert.Empty(await recall.RecallAsync(User, "Where does she live, Seoul?", 5, Token));
    }

    [Fact]
    public async Task Recall_NothingRelated_ReturnsNothingOld()
    {
        await _store.UpsertManyAsync(User, [Add("Plays tennis on Sundays", importance: 0.2, age: TimeSpan.FromDays(400))], Token);
        var recall = new MemoryRecall(_store, _time);

        Assert.Empty(await recall.RecallAsync(User, "What should I cook tonight?", 5, Token));
    }

    [Fact]
    public async Task Recall_AnswerNextToTheTurnThatMatches_SessionSignalLiftsIt()
    {
        var conversation = _time.GetUtcNow().AddDays(-100);
        var context = Add("pottery class with the kids") with { CreatedAt = conversation };
        var answer = Add("the kids made a mug") with { CreatedAt = conversation.AddMinutes(2) };
        var elsewhere = Add("the kids made pancakes") with { CreatedAt = _time.GetUtcNow().AddDays(-20) };
        await _store.UpsertManyAsync(User, [context, answer, elsewhere], Token);
        var noSession = new MemoryRecall(_store, _time, options: new MemoryRecallOptions { RecentCandidates = 0, ImportantCandidates = 0, SessionWeight = 0 });
        var withSession = new MemoryRecall(_store, _time, options: new MemoryRecallOptions { RecentCandidates = 0, ImportantCandidates = 0 });

        var without = (await noSession.RecallAsync(User, "what the kids made at pottery class", 3, Token)).Select(result => result.Memory.Id).ToList();
        var with = (await withSession.RecallAsync(User, "what the kids made at pottery class", 3, Token)).Select(result => result.Memory.Id).ToList();

        Assert.Equal([context.Id, elsewhere.Id, answer.Id], without);
        Assert.Equal([context.Id, answer.Id, elsewhere.Id], with);
    }

    [Fact]
    public async Task Recall_WhenQuestion_FavoursTheMemoryThatSaysWhen()
    {
        // Same number of terms, so the same full-text score: only saying when tells them apart.
        var undated = Add("we went to the support group at the community centre downtown", age: TimeSpan.FromDays(30));
        var dated = Add("we went to the support group at the community centre yesterday", age: TimeSpan.FromDays(30));
        await _store.UpsertManyAsync(User, [undated, dated], Token);
        MemoryRecall Recall(double timeAnswerWeight) => new(_store, _time, options: new MemoryRecallOptions
        {
            RecentCandidates = 0,
            ImportantCandidates = 0,
            SessionWeight = 0,
            TimeAnswerWeight = timeAnswerWeight,
        });

        var plain = await Recall(0).RecallAsync(User, "When did she go to the support group?", 2, Token);
        var timed = await Recall(0.1).RecallAsync(User, "When did she go to the support group?", 2, Token);
        var notWhen = await Recall(0.1).RecallAsync(User, "Did she go to the support group?", 2, Token);

        Assert.Equal(plain.Single(result => result.Memory.Id == dated.Id).Score + 0.1, timed[0].Score, 9);
        Assert.Equal(dated.Id, timed[0].Memory.Id);
        Assert.Equal(plain.Single(result => result.Memory.Id == undated.Id).Score, timed[1].Score, 9);
        Assert.All(notWhen, result => Assert.Equal(plain[0].Score, result.Score, 9));
    }

    [Fact]
    public void WithSessionSignal_NeighboursWithinWindow_GainTheirBestScore()
    {
        var start = _time.GetUtcNow();
        MemorySearchHit Hit(double score, TimeSpan offset) => new(Add("x") with { CreatedAt = start + offset }, score);
        var hits = new[] { Hit(1.0, TimeSpan.Zero), Hit(4.0, TimeSpan.FromMinutes(30)), Hit(2.0, TimeSpan.FromMinutes(85)), Hit(3.0, TimeSpan.FromDays(3)) };

        var scores = MemoryRecall.WithSessionSignal(hits, 0.5, TimeSpan.FromHours(1));

        // 0:00 sees 0:30 (4); 0:30 sees itself (4); 1:25 sees 0:30 (4); day 3 sees only itself.
        Assert.Equal([1.0 + 2.0, 4.0 + 2.0, 2.0 + 2.0, 3.0 + 1.5], scores);
        Assert.Equal([1.0, 4.0, 2.0, 3.0], MemoryRecall.WithSessionSignal(hits, 0, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Constructor_NegativeWeight_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryRecall(_store, _time, options: new MemoryRecallOptions { RecencyWeight = -1 }));
    }

    [Fact]
    public async Task Recall_QueryNamingTheSpeaker_PrefersTheirTurn()
    {
        var hers = Add("Caroline: I started a pottery class on Sunday", MemoryKind.Episodic, importance: 0.3);
        var his = Add("Mark: I started a pottery class on Sunday", MemoryKind.Episodic, importance: 0.3);
        await _store.UpsertManyAsync(User, [his, hers], Token);
        MemoryRecall Recall(double speakerWeight) => new(_store, _time, options: new MemoryRecallOptions { RecentCandidates = 0, ImportantCandidates = 0, SpeakerWeight = speakerWeight });

        var named = await Recall(0.1).RecallAsync(User, "What class did Caroline start?", 2, Token);
        var other = await Recall(0.1).RecallAsync(User, "What class did Mark start?", 2, Token);
        var off = await Recall(0).RecallAsync(User, "What class did Caroline start?", 2, Token);

        Assert.Equal(hers.Id, named[0].Memory.Id);
        Assert.Equal(his.Id, other[0].Memory.Id);
        // Exactly the speaker weight for the named speaker's turn, nothing for the other's.
        Assert.Equal(off.Single(result => result.Memory.Id == hers.Id).Score + 0.1, named.Single(result => result.Memory.Id == hers.Id).Score, 9);
        Assert.Equal(off.Single(result => result.Memory.Id == his.Id).Score, named.Single(result => result.Memory.Id == his.Id).Score, 9);
    }
}
