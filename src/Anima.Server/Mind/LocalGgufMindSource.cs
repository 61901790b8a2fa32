using Anima.Llm.Chat;
using Anima.Llm.Models;
using Microsoft.Extensions.AI;

namespace Anima.Server.Mind;

/// <summary>
/// The in-process GGUF engine as a mind: offered when a model was chosen with <c>anima model pull</c> or
/// <c>anima model use PATH</c> (or <c>Anima:Mind:LocalModelPath</c>). The model is memory-mapped once and
/// shared; a broken file is reported as not connected, with the engine's own message.
/// </summary>
public sealed class LocalGgufMindSource(IConfiguration configuration) : ILocalMindSource
{
    public bool TryCreate(out IChatClient? client, out string description)
    {
        var path = configuration["Anima:Mind:LocalModelPath"] is { Length: > 0 } configured ? configured : LocalModelStore.ResolveModelPath();
        client = null;
        description = string.Empty;
        if (path is null || !File.Exists(path))
        {
            return false;
        }

        try
        {
            client = LocalChatClient.Open(path, new LocalChatClientOptions());
            description = Path.GetFileNameWithoutExtension(path);
            return true;
        }
        catch (Exception exception) when (exception is InvalidDataException or NotSupportedException or IOException or InvalidOperationException)
        {
            description = $"{Path.GetFileName(path)} could not be loaded: {exception.Message}";
            return false;
        }
    }
}
