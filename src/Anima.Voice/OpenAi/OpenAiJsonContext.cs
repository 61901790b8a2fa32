using System.Text.Json.Serialization;
using Anima.Voice.Synthesis;

namespace Anima.Voice.OpenAi;

[JsonSerializable(typeof(OpenAiCompatibleTextToSpeech.SpeechRequest))]
[JsonSerializable(typeof(TranscriptionResponse))]
internal sealed partial class OpenAiJsonContext : JsonSerializerContext;

/// <summary>The <c>json</c>/<c>verbose_json</c> body of <c>/v1/audio/transcriptions</c>.</summary>
internal sealed record TranscriptionResponse(
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("language")] string? Language);
