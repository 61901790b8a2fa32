using Anima.Abstractions;
using Anima.Core.Conversation;
using Anima.Core.Prompting;
using Anima.Perception;
using Anima.Perception.Mood;

namespace Anima.Server.Perception;

/// <summary>Reads the feeling of each user message with the committed text emotion model (English and Korean).</summary>
public sealed class TextEmotionPerceiver(ITextEmotionPerceiver model) : IMessagePerceiver
{
    /// <summary>How many labels are kept with a message (the most probable above their thresholds).</summary>
    private const int LabelsKept = 3;

    public PerceivedEmotion? Perceive(string text)
    {
        var reading = model.Perceive(text);
        return reading.IsUnknown
            ? null
            : new PerceivedEmotion(reading.Labels.Take(LabelsKept).ToArray(), reading.Valence, reading.Arousal, reading.Language, MoodTracker.ReadingWeight(reading));
    }
}

/// <summary>
/// Puts the user's running mood into the prompt as a short sentence. The mood is rebuilt from the
/// perceived messages of the last two weeks (stored with each message), smoothed over the
/// conversation and across days by <see cref="MoodTracker"/>.
/// </summary>
public sealed class MoodContextProvider(IConversationStore conversations, MoodTracker tracker) : ITurnContextProvider
{
    private static readonly TimeSpan Window = TimeSpan.FromDays(14);

    public async ValueTask<PromptSection?> GetSectionAsync(TurnContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Settings.PerceptionEnabled)
        {
            return null;
        }

        var points = await conversations.GetMoodAsync(context.UserId, context.Now - Window, cancellationToken);
        var state = MoodState.Empty;
        foreach (var point in points)
        {
            state = tracker.Update(state, point.Valence, point.Arousal, point.Weight, point.At);
        }

        var description = tracker.Describe(state, context.Now, context.Language == "ko" ? EmotionReading.Korean : EmotionReading.English);
        var now = context.Emotion is { Labels.Count: > 0 } emotion
            ? $" In their latest message you perceive: {string.Join(", ", emotion.Labels)}."
            : string.Empty;
        if (description is null && now.Length == 0)
        {
            return null;
        }

        return new PromptSection(
            "How the user seems",
            (description ?? string.Empty) + now + " This is an estimate from their words: let it shape your tone, do not announce it or label their feelings for them.",
            Priority: 20);
    }
}

/// <summary>Loads the emotion model in the background at start, so the first message is not the one that waits for it.</summary>
internal sealed class PerceptionWarmup(IMessagePerceiver perceiver) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Run(() => perceiver.Perceive("warm up"), stoppingToken);
}
