using Anima.Memory.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Anima.Memory.Tests;

/// <summary>The behaviour every <see cref="IMemoryStore"/> must have; run against SQLite and PostgreSQL.</summary>
public abstract class MemoryStoreContractTests : IAsyncLifetime
{
    protected const string Alice = "alice";
    protected const string Bob = "bob@example.com";

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));

    protected IMemoryStore Store { get; private set; } = null!;

    protected abstract Task<IMemoryStore> CreateStoreAsync(CancellationToken cancellationToken);

    public async ValueTask InitializeAsync()
    {
        Store = await CreateStoreAsync(TestContext.Current.CancellationToken);
        await Store.InitializeAsync(TestContext.Current.CancellationToken);
    }

    public virtual async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    protected Memory NewMemory(string userId, string text, MemoryKind kind = MemoryKind.Fact, double importance = 0.5) => new()
    {
        Id = Guid.NewGuid(),
        UserId = userId,
        Kind = kind,
        Text = text,
        CreatedAt = Time.GetUtcNow(),
        Importance = importance,
    };

    [Fact]
    public async Task Upsert_ThenGet_RoundTripsEveryField()
    {
        var memory = new Memory
        {
            Id = Guid.NewGuid(),
            UserId = Alice,
            Kind = MemoryKind.Event,
            Text = "Job interview at Kakao on Tuesday / 화요일에 카카오 면접",
            CreatedAt = Time.GetUtcNow(),
            UpdatedAt = Time.GetUtcNow().AddMinutes(5),
            EventDate = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero),
            ExpiresAt = new DateTimeOffset(2027, 11, 24, 0, 0, 0, TimeSpan.Zero),
            Provenance = ["turn-1", "turn-2"],
            Confidence = 0.8,
            Importance = 0.9,
            EmotionalWeight = 0.6,
            SupersededBy = Guid.NewGuid(),
            IsRetired = false,
            Embedding = [0.25f, -1.5f, 3f],
            SearchContext = "context words",
        };

        await Store.UpsertAsync(Alice, memory, Token);
        var stored = await Store.GetAsync(Alice, memory.Id, Token);

        Assert.NotNull(stored);
        Assert.Equal(memory.Id, stored.Id);
        Assert.Equal(memory.UserId, stored.UserId);
        Assert.Equal(memory.Kind, stored.Kind);
        Assert.Equal(memory.Text, stored.Text);
        Assert.Equal(memory.CreatedAt, stored.CreatedAt);
        Assert.Equal(memory.UpdatedAt, stored.UpdatedAt);
        Assert.Equal(memory.EventDate, stored.EventDate);
        Assert.Equal(memory.ExpiresAt, stored.ExpiresAt);
        Assert.Equal(memory.Provenance, stored.Provenance);
        Assert.Equal(memory.Confidence, stored.Confidence);
        Assert.Equal(memory.Importance, stored.Importance);
        Assert.Equal(memory.EmotionalWeight, stored.EmotionalWeight);
        Assert.Equal(memory.SupersededBy, stored.SupersededBy);
        Assert.Equal(memory.Embedding, stored.Embedding);
        Assert.Equal(memory.SearchContext, stored.SearchContext);
    }

    [Fact]
    public async Task Upsert_SameId_ReplacesTextAndIndex()
    {
        var memory = NewMemory(Alice, "Lives in Seoul");
        await Store.UpsertAsync(Alice, memory, Token);

        await Store.UpsertAsync(Alice, memory with { Text = "Lives in Busan" }, Token);

        Assert.Equal("Lives in Busan", (await Store.GetAsync(Alice, memory.Id, Token))!.Text);
        Assert.Empty(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "Seoul" }, Token));
        Assert.Single(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "Busan" }, Token));
        Assert.Equal(1, await Store.CountAsync(Alice, cancellationToken: Token));
    }

    [Fact]
    public async Task Get_OtherUsersMemory_ReturnsNull()
    {
        var memory = NewMemory(Alice, "Alice's secret diary entry");
        await Store.UpsertAsync(Alice, memory, Token);

        Assert.Null(await Store.GetAsync(Bob, memory.Id, Token));
    }

    [Fact]
    public async Task Upsert_IdOwnedByOtherUser_ThrowsAndLeavesOriginal()
    {
        var memory = NewMemory(Alice, "Alice's original");
        await Store.UpsertAsync(Alice, memory, Token);

        await Assert.ThrowsAsync<ArgumentException>(() => Store.UpsertAsync(Bob, memory with { UserId = Bob, Text = "Bob's overwrite" }, Token));

        Assert.Equal("Alice's original", (await Store.GetAsync(Alice, memory.Id, Token))!.Text);
        Assert.Equal(0, await Store.CountAsync(Bob, cancellationToken: Token));
    }

    [Fact]
    public async Task Upsert_MemoryOfAnotherUser_Throws()
    {
        var exception = await Assert.ThrowsAsync<ArgumentException>(() => Store.UpsertAsync(Bob, NewMemory(Alice, "x"), Token));
        Assert.Contains("different user", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpdateAndDelete_OtherUsersMemory_ChangeNothing()
    {
        var memory = NewMemory(Alice, "Alice likes hiking");
        await Store.UpsertAsync(Alice, memory, Token);

        Assert.Null(await Store.UpdateAsync(Bob, memory.Id, new MemoryCorrection { Text = "hacked" }, Token));
        Assert.False(await Store.DeleteAsync(Bob, memory.Id, Token));
        Assert.Equal(0, await Store.DeleteAllAsync(Bob, Token));

        Assert.Equal("Alice likes hiking", (await Store.GetAsync(Alice, memory.Id, Token))!.Text);
    }

    [Fact]
    public async Task Search_WordsOfAnotherUser_FindsNothing()
    {
        await Store.UpsertAsync(Alice, NewMemory(Alice, "Alice adopted a golden retriever named Mango"), Token);
        await Store.UpsertAsync(Bob, NewMemory(Bob, "Bob plays the cello"), Token);

        Assert.Empty(await Store.SearchAsync(Bob, new MemorySearchQuery { Text = "Mango retriever" }, Token));
        var hits = await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "retriever" }, Token);
        Assert.Equal(Alice, Assert.Single(hits).Memory.UserId);
        Assert.DoesNotContain((await Store.ListAsync(Bob, new MemoryListQuery(), Token)).Items, memory => memory.UserId != Bob);
    }

    [Theory]
    [InlineData("인터뷰가 어땠어?")]
    [InlineData("인터뷰를 잘 봤어?")]
    [InlineData("인터뷰")]
    public async Task Search_KoreanWithDifferentParticle_FindsMemory(string query)
    {
        var interview = NewMemory(Alice, "다음 주 화요일 인터뷰는 카카오에서 봐요", MemoryKind.Event);
        await Store.UpsertAsync(Alice, interview, Token);
        await Store.UpsertAsync(Alice, NewMemory(Alice, "고양이가 아파서 병원에 갔어요"), Token);

        var hits = await Store.SearchAsync(Alice, new MemorySearchQuery { Text = query }, Token);

        Assert.Equal(interview.Id, Assert.Single(hits).Memory.Id);
    }

    [Fact]
    public async Task Search_KoreanCompoundAndVerbEnding_FindsMemory()
    {
        var moved = NewMemory(Alice, "서울에서 부산으로 이사했어요");
        await Store.UpsertAsync(Alice, moved, Token);
        await Store.UpsertAsync(Alice, NewMemory(Alice, "면접준비를 하느라 바빠요"), Token);

        Assert.Equal(moved.Id, Assert.Single(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "언제 이사 갔지?" }, Token)).Memory.Id);
        Assert.Single(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "면접 준비" }, Token));
    }

    [Fact]
    public async Task Search_EnglishInflection_FindsMemory()
    {
        var memory = NewMemory(Alice, "I have two interviews next week and I'm nervous");
        await Store.UpsertAsync(Alice, memory, Token);

        var hits = await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "How did the interview go?" }, Token);

        Assert.Equal(memory.Id, Assert.Single(hits).Memory.Id);
    }

    [Fact]
    public async Task Search_BetterMatch_RanksFirst()
    {
        var weak = NewMemory(Alice, "We talked about the weather and a little about painting");
        var strong = NewMemory(Alice, "Painting sunsets with watercolor painting kit");
        await Store.UpsertManyAsync(Alice, [weak, strong], Token);

        var hits = await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "watercolor painting" }, Token);

        Assert.Equal([strong.Id, weak.Id], hits.Select(hit => hit.Memory.Id));
        Assert.True(hits[0].LexicalScore > hits[1].LexicalScore);
    }

    [Fact]
    public async Task Search_OnlyStopWordsOrPunctuation_ReturnsEmpty()
    {
        await Store.UpsertAsync(Alice, NewMemory(Alice, "The cat is on the mat"), Token);

        Assert.Empty(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "the is on ?!" }, Token));
        Assert.Empty(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "\"' OR 1=1 --" }, Token));
    }

    [Fact]
    public async Task Search_RetiredAndExpired_ExcludedUnlessAsked()
    {
        var retired = NewMemory(Alice, "Works at the bakery") with { IsRetired = true };
        var expired = NewMemory(Alice, "Bakery sale today") with { ExpiresAt = Time.GetUtcNow().AddHours(1) };
        var live = NewMemory(Alice, "Loves the bakery croissants");
        await Store.UpsertManyAsync(Alice, [retired, expired, live], Token);
        Time.Advance(TimeSpan.FromHours(2));

        var hits = await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "bakery" }, Token);
        Assert.Equal(live.Id, Assert.Single(hits).Memory.Id);

        var withRetired = await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "bakery", IncludeRetired = true }, Token);
        Assert.Equal(2, withRetired.Count);
    }

    [Fact]
    public async Task Search_KindFilter_ReturnsOnlyThoseKinds()
    {
        await Store.UpsertAsync(Alice, NewMemory(Alice, "Guitar lesson on Friday", MemoryKind.Event), Token);
        await Store.UpsertAsync(Alice, NewMemory(Alice, "Likes guitar music", MemoryKind.Preference), Token);

        var hits = await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "guitar", Kinds = [MemoryKind.Preference] }, Token);

        Assert.Equal(MemoryKind.Preference, Assert.Single(hits).Memory.Kind);
    }

    [Fact]
    public async Task Search_SearchContext_IsIndexedButNotShown()
    {
        var memory = NewMemory(Alice, "Yes, it was amazing!", MemoryKind.Episodic) with { SearchContext = "How was the concert in Daegu?" };
        await Store.UpsertAsync(Alice, memory, Token);

        var hit = Assert.Single(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "Daegu concert" }, Token));

        Assert.Equal("Yes, it was amazing!", hit.Memory.Text);
    }

    [Fact]
    public async Task Delete_Memory_GoneFromGetListAndSearch()
    {
        var memory = NewMemory(Alice, "Secret: zanzibarian pancakes");
        await Store.UpsertAsync(Alice, memory, Token);

        Assert.True(await Store.DeleteAsync(Alice, memory.Id, Token));

        Assert.Null(await Store.GetAsync(Alice, memory.Id, Token));
        Assert.Empty(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "zanzibarian" }, Token));
        Assert.Empty((await Store.ListAsync(Alice, new MemoryListQuery { IncludeRetired = true, IncludeExpired = true }, Token)).Items);
        Assert.False(await Store.DeleteAsync(Alice, memory.Id, Token));
    }

    [Fact]
    public async Task DeleteAll_DeletesOnlyThatUser()
    {
        await Store.UpsertManyAsync(Alice, [NewMemory(Alice, "alpha tea"), NewMemory(Alice, "beta tea")], Token);
        await Store.UpsertAsync(Bob, NewMemory(Bob, "gamma tea"), Token);

        Assert.Equal(2, await Store.DeleteAllAsync(Alice, Token));

        Assert.Equal(0, await Store.CountAsync(Alice, cancellationToken: Token));
        Assert.Empty(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "tea" }, Token));
        Assert.Single(await Store.SearchAsync(Bob, new MemorySearchQuery { Text = "tea" }, Token));
    }

    [Fact]
    public async Task List_PagesNewestFirstWithTotal()
    {
        var memories = new List<Memory>();
        for (var index = 0; index < 7; index++)
        {
            memories.Add(NewMemory(Alice, $"memory number {index}") with { CreatedAt = Time.GetUtcNow().AddMinutes(index) });
        }

        await Store.UpsertManyAsync(Alice, memories, Token);

        var first = await Store.ListAsync(Alice, new MemoryListQuery { Limit = 3 }, Token);
        var third = await Store.ListAsync(Alice, new MemoryListQuery { Limit = 3, Offset = 6 }, Token);

        Assert.Equal(7, first.Total);
        Assert.Equal(["memory number 6", "memory number 5", "memory number 4"], first.Items.Select(memory => memory.Text));
        Assert.Equal("memory number 0", Assert.Single(third.Items).Text);
    }

    [Fact]
    public async Task List_Filters_KindsEventWindowImportanceRetired()
    {
        var tuesday = new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
        await Store.UpsertManyAsync(Alice,
        [
            NewMemory(Alice, "interview", MemoryKind.Event) with { EventDate = tuesday.AddHours(10) },
            NewMemory(Alice, "dentist", MemoryKind.Event) with { EventDate = tuesday.AddDays(3) },
            NewMemory(Alice, "likes jazz", MemoryKind.Preference, importance: 0.9),
            NewMemory(Alice, "old job", MemoryKind.Fact, importance: 0.95) with { IsRetired = true },
        ], Token);

        var onTuesday = await Store.ListAsync(Alice, new MemoryListQuery { EventFrom = tuesday, EventBefore = tuesday.AddDays(1) }, Token);
        var preferences = await Store.ListAsync(Alice, new MemoryListQuery { Kinds = [MemoryKind.Preference] }, Token);
        var important = await Store.ListAsync(Alice, new MemoryListQuery { ByImportance = true, Limit = 1 }, Token);
        var withRetired = await Store.ListAsync(Alice, new MemoryListQuery { ByImportance = true, Limit = 1, IncludeRetired = true }, Token);

        Assert.Equal("interview", Assert.Single(onTuesday.Items).Text);
        Assert.Equal("likes jazz", Assert.Single(preferences.Items).Text);
        Assert.Equal("likes jazz", Assert.Single(important.Items).Text);
        Assert.Equal("old job", Assert.Single(withRetired.Items).Text);
        Assert.Equal(3, await Store.CountAsync(Alice, new MemoryListQuery(), Token));
        Assert.Equal(4, await Store.CountAsync(Alice, cancellationToken: Token));
    }

    [Fact]
    public async Task Update_Correction_ChangesStoredTextAndIndex()
    {
        var memory = NewMemory(Alice, "Her sister is called Minji") with { Embedding = [1f, 0f] };
        await Store.UpsertAsync(Alice, memory, Token);
        Time.Advance(TimeSpan.FromDays(1));

        var corrected = await Store.UpdateAsync(Alice, memory.Id, new MemoryCorrection { Text = "Her sister is called Minseo", Importance = 0.8 }, Token);

        Assert.NotNull(corrected);
        Assert.Equal("Her sister is called Minseo", corrected.Text);
        Assert.Null(corrected.Embedding);
        Assert.Equal(Time.GetUtcNow(), corrected.UpdatedAt);
        Assert.Equal(0.8, (await Store.GetAsync(Alice, memory.Id, Token))!.Importance);
        Assert.Empty(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "Minji" }, Token));
        Assert.Single(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "Minseo" }, Token));
    }

    [Fact]
    public async Task Update_InvalidCorrection_ThrowsAndKeepsMemory()
    {
        var memory = NewMemory(Alice, "Keeps a garden");
        await Store.UpsertAsync(Alice, memory, Token);

        await Assert.ThrowsAsync<ArgumentException>(() => Store.UpdateAsync(Alice, memory.Id, new MemoryCorrection { Text = "  " }, Token));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.UpdateAsync(Alice, memory.Id, new MemoryCorrection { Importance = 7 }, Token));

        Assert.Equal("Keeps a garden", (await Store.GetAsync(Alice, memory.Id, Token))!.Text);
    }

    [Fact]
    public async Task Upsert_HugeText_ThrowsClearError()
    {
        var huge = NewMemory(Alice, new string('가', Memory.MaxTextLength + 1));

        var exception = await Assert.ThrowsAsync<ArgumentException>(() => Store.UpsertAsync(Alice, huge, Token));

        Assert.Contains("at most 8000 characters", exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, await Store.CountAsync(Alice, cancellationToken: Token));
    }

    [Fact]
    public async Task Upsert_LargestAllowedText_IsStoredAndSearchable()
    {
        var words = string.Join(' ', Enumerable.Range(0, 1400).Select(index => $"w{index}")) + " 마지막단어";
        var text = words + new string(' ', Memory.MaxTextLength - words.Length);
        await Store.UpsertAsync(Alice, NewMemory(Alice, text), Token);

        Assert.Single(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "w1399" }, Token));
        Assert.Single(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "마지막단어" }, Token));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Operations_BlankUserId_Throw(string userId)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetAsync(userId, Guid.NewGuid(), Token));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.SearchAsync(userId, new MemorySearchQuery { Text = "x" }, Token));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.DeleteAllAsync(userId, Token));
    }

    [Fact]
    public async Task Upsert_ConcurrentWriters_StoreEverything()
    {
        const int Writers = 8;
        const int PerWriter = 25;
        await Parallel.ForAsync(0, Writers, Token, async (writer, cancellationToken) =>
        {
            for (var index = 0; index < PerWriter; index++)
            {
                var user = writer % 2 == 0 ? Alice : Bob;
                await Store.UpsertAsync(user, NewMemory(user, $"writer {writer} note {index} concurrency"), cancellationToken);
            }
        });

        Assert.Equal(Writers / 2 * PerWriter, await Store.CountAsync(Alice, cancellationToken: Token));
        Assert.Equal(Writers / 2 * PerWriter, await Store.CountAsync(Bob, cancellationToken: Token));
        Assert.Equal(20, (await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "concurrency", Limit = 20 }, Token)).Count);
    }

    [Fact]
    public async Task Export_ThenImport_RoundTripsAllMemories()
    {
        var memories = new[]
        {
            NewMemory(Alice, "Sister Minji lives in Daejeon", MemoryKind.Person) with { Provenance = ["t1"] },
            NewMemory(Alice, "커피보다 차를 좋아해요", MemoryKind.Preference) with { IsRetired = true, Embedding = [0.5f] },
        };
        await Store.UpsertManyAsync(Alice, memories, Token);
        await Store.UpsertAsync(Bob, NewMemory(Bob, "not exported"), Token);
        using var stream = new MemoryStream();

        var written = await MemoryExport.WriteAsync(Store, Alice, stream, Time, Token);
        stream.Position = 0;
        var imported = await MemoryExport.ReadAsync(stream, "alice-on-new-machine", Token);

        Assert.Equal(2, written);
        Assert.Equal(memories.Select(memory => memory.Text).Order(), imported.Select(memory => memory.Text).Order());
        Assert.All(imported, memory => Assert.Equal("alice-on-new-machine", memory.UserId));
        Assert.Contains(imported, memory => memory.IsRetired && memory.Embedding is [0.5f]);
    }
}
