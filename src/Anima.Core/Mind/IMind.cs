using Microsoft.Extensions.AI;

namespace Anima.Core.Mind;

/// <summary>
/// The language model the companion thinks with, or none. Which one is connected can change while the
/// program runs (the user connects one in settings), so callers read <see cref="Client"/> per turn.
/// </summary>
public interface IMind
{
    /// <summary>The connected model, or null when none is connected.</summary>
    IChatClient? Client { get; }

    MindStatus Status { get; }
}

/// <summary>What mind is connected, in words a user can act on.</summary>
public sealed record MindStatus(
    bool IsConnected,
    string Provider,
    string? Model,
    string? Endpoint,
    string Detail)
{
    /// <summary>The exact steps to connect a mind, shown by the page and the CLI when none is connected.</summary>
    public static IReadOnlyList<string> HowToConnect { get; } =
    [
        "Run a local model server, e.g. Ollama: install it, `ollama pull qwen2.5:3b`, and restart Anima — it is found on http://127.0.0.1:11434 automatically.",
        "Or point Anima at any OpenAI-compatible server (llama.cpp's llama-server, vLLM, LM Studio, OpenAI): set Anima__Mind__Provider=openai, Anima__Mind__Endpoint=http://127.0.0.1:8080/v1, Anima__Mind__Model=<model> (and Anima__Mind__ApiKey if it needs one), or enter them in the page's settings.",
        "Or set OPENAI_API_KEY (OpenAI) or ANTHROPIC_API_KEY (Anthropic) in the environment and restart.",
        "Or run a GGUF model in-process: `dotnet run --project src/Anima.Cli -- model pull qwen2.5-1.5b-instruct` (or `model use PATH`) and restart.",
    ];

    /// <summary>The same steps in Korean.</summary>
    public static IReadOnlyList<string> HowToConnectKorean { get; } =
    [
        "로컬 모델 서버를 실행하세요. 예: Ollama를 설치하고 `ollama pull qwen2.5:3b` 후 Anima를 다시 시작하면 http://127.0.0.1:11434 에서 자동으로 찾아요.",
        "또는 OpenAI 호환 서버(llama.cpp의 llama-server, vLLM, LM Studio, OpenAI)를 지정하세요: Anima__Mind__Provider=openai, Anima__Mind__Endpoint=http://127.0.0.1:8080/v1, Anima__Mind__Model=<모델> (필요하면 Anima__Mind__ApiKey)을 설정하거나 페이지의 설정에 입력하세요.",
        "또는 환경 변수 OPENAI_API_KEY (OpenAI) 나 ANTHROPIC_API_KEY (Anthropic)를 설정하고 다시 시작하세요.",
        "또는 GGUF 모델을 프로세스 안에서 실행하세요: `dotnet run --project src/Anima.Cli -- model pull qwen2.5-1.5b-instruct` (또는 `model use PATH`) 후 다시 시작하세요.",
    ];
}
