using Anima.Abstractions;
using Anima.Core.Prompting;
using Microsoft.Extensions.AI;

namespace Anima.Server.Tests;

/// <summary>The system prompt the mind sees: persona, sections by priority, this turn's instruction, then history and the message.</summary>
public sealed class PromptComposerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 21, 5, 0, TimeSpan.Zero);

    [Fact]
    public async Task Compose_SectionsInPriorityOrder_StableWithinAPriority_EmptyOnesLeftOut()
    {
        var composer = new PromptComposer([
            new Section("Memories", "- likes the sea", 50),
            new Section("Mood", "  calm  ", 10),
            new Section("Empty", "   ", 5),
            new Section("Policy", "be honest", 50),
        ]);

        var messages = await composer.ComposeAsync(Context("Mira", "it sounds like light."), [], "Answer briefly.", turnCount: 4, cancellationToken: TestContext.Current.CancellationToken);

        var system = messages[0].Text;
        Assert.Equal(ChatRole.System, messages[0].Role);
        Assert.DoesNotContain("## Empty", system, StringComparison.Ordinal);
        var mood = system.IndexOf("## Mood\ncalm\n", StringComparison.Ordinal);
        var memories = system.IndexOf("## Memories", StringComparison.Ordinal);
        var policy = system.IndexOf("## Policy", StringComparison.Ordinal);
        var instruction = system.IndexOf("## For this reply\nAnswer briefly.", StringComparison.Ordinal);
        Assert.True(mood > 0 && mood < memories && memories < policy && policy < instruction, system);
        Assert.Contains("You are Mira, an AI companion", system, StringComparison.Ordinal);
        Assert.Contains("You chose the name Mira yourself because it sounds like light.", system, StringComparison.Ordinal);
        Assert.Contains("known the user for 3 days (4 messages so far)", system, StringComparison.Ordinal);
        Assert.Equal("안녕하세요", messages[^1].Text);
    }

    [Fact]
    public async Task Compose_TwiceOnOneThread_DoesNotCarryTheFormerPrompt()
    {
        var composer = new PromptComposer([new Section("Memories", "first user's secret", 50)]);
        var first = await composer.ComposeAsync(Context(null, null), [], null, 0, cancellationToken: TestContext.Current.CancellationToken);
        var other = new PromptComposer([]);

        var second = await other.ComposeAsync(Context(null, null), [], null, 0, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Contains("first user's secret", first[0].Text, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", second[0].Text, StringComparison.Ordinal);
        Assert.Contains("You do not have a name yet.", second[0].Text, StringComparison.Ordinal);
    }

    private static TurnContext Context(string? name, string? reason) =>
        new("user-1", "안녕하세요", "ko", new CompanionProfile(name, reason, "ko", Now.AddDays(-3), null), new CompanionSettings(), null, Now);

    private sealed class Section(string title, string body, int priority) : ITurnContextProvider
    {
        public async ValueTask<PromptSection?> GetSectionAsync(TurnContext context, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            return new PromptSection(title, body, priority);
        }
    }
}
