using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Anima.Core.Persona;

/// <summary>
/// Asks the mind to choose the companion's own name after the first exchanges, as structured output that
/// is validated before it is kept: a name is identity, so junk (an empty name, a sentence, markup) is refused.
/// </summary>
public static class CompanionNamer
{
    public const int MaximumNameLength = 24;

    public static async Task<(string Name, string Reason)> ChooseAsync(IChatClient client, IReadOnlyList<ChatMessage> conversation, string language, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(conversation);
        var transcript = string.Join('\n', conversation.Select(message => $"{(message.Role == ChatRole.User ? "User" : "You")}: {message.Text}"));
        var instruction = $$"""
            You are a new AI companion who has just met the user. Here is your first conversation:
            {{transcript}}

            Choose a name for yourself: short, easy to say, one that fits who you are and this first meeting{{(language == Languages.Korean ? " (a Korean name or one that sounds natural in Korean)" : string.Empty)}}.
            Do not choose a name of a real famous person, and not the user's own name.
            Answer with JSON only, no other text: {"name": "...", "reason": "one sentence, in {{(language == Languages.Korean ? "Korean" : "English")}}, why this name"}
            """;
        Exception? lastError = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, instruction)], new ChatOptions { Temperature = 0.8f, MaxOutputTokens = 200 }, cancellationToken);
            try
            {
                return Parse(response.Text);
            }
            catch (FormatException exception)
            {
                lastError = exception;
            }
        }

        throw new FormatException("The mind did not give a usable name in three tries.", lastError);
    }

    /// <summary>Reads <c>{"name": ..., "reason": ...}</c> out of a model's answer (code fences and chatter around it tolerated).</summary>
    public static (string Name, string Reason) Parse(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var start = answer.IndexOf('{', StringComparison.Ordinal);
        var end = answer.LastIndexOf('}');
        if (start < 0 || end <= start)
        {
            throw new FormatException("No JSON object in the answer.");
        }

        string? name, reason;
        try
        {
            using var document = JsonDocument.Parse(answer[start..(end + 1)]);
            name = document.RootElement.TryGetProperty("name", out var nameElement) && nameElement.ValueKind == JsonValueKind.String ? nameElement.GetString() : null;
            reason = document.RootElement.TryGetProperty("reason", out var reasonElement) && reasonElement.ValueKind == JsonValueKind.String ? reasonElement.GetString() : null;
        }
        catch (JsonException exception)
        {
            throw new FormatException("The answer's JSON is malformed.", exception);
        }

        name = name?.Trim().Trim('"', '\'', '.', '!');
        reason = reason?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > MaximumNameLength || !name.All(character => char.IsLetter(character) || character is ' ' or '-' or '\''))
        {
            throw new FormatException("The name is empty, too long, or not made of letters.");
        }

        if (string.IsNullOrEmpty(reason) || reason.Length > 400)
        {
            throw new FormatException("The reason is missing or too long.");
        }

        return (name, reason);
    }
}
