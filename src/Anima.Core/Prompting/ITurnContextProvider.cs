using Anima.Abstractions;

namespace Anima.Core.Prompting;

/// <summary>
/// A place where a capability (perception, memory, policy) adds what the mind should know for this turn.
/// Each provider returns a short titled section of the system prompt, or null when it has nothing to say.
/// </summary>
public interface ITurnContextProvider
{
    ValueTask<PromptSection?> GetSectionAsync(TurnContext context, CancellationToken cancellationToken = default);
}

/// <summary>What a provider knows of the turn being answered.</summary>
public sealed record TurnContext(
    string UserId,
    string UserMessage,
    string Language,
    CompanionProfile Profile,
    CompanionSettings Settings,
    PerceivedEmotion? Emotion,
    DateTimeOffset Now);

/// <summary>A titled block of the system prompt; <see cref="Priority"/> orders blocks (lower first).</summary>
public sealed record PromptSection(string Title, string Body, int Priority = 100);
