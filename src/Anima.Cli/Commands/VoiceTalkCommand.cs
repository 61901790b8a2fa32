using System.Globalization;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Anima.Voice.Audio;

namespace Anima.Cli.Commands;

/// <summary>
/// Talks to the companion from a WAV file and writes its spoken reply to a WAV file, through the server's
/// real voice pipeline (<c>/api/voice</c>): voice activity, end of turn, speech-to-text, the turn, and
/// sentence-by-sentence speech. Prints the transcript, the reply and the per-stage timings.
/// </summary>
public sealed class VoiceTalkCommand : ICliCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Name => "voice talk";

    public string Summary => "Say a WAV file to your companion through the server's voice pipeline; write the spoken reply to a WAV.";

    public string Usage => """
        Usage: anima voice talk --in IN.wav --out OUT.wav [--server URL] [--language en|ko] [--username NAME --password PASSWORD]
          Any WAV (PCM or float, any rate) is converted to 16 kHz mono and streamed in real time; the reply audio
          (16 kHz mono PCM16) is written to OUT.wav. Uses the session saved by `anima chat`, or signs in.
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var input = arguments.Require("--in");
        var output = arguments.Require("--out");
        var server = (arguments.Get("--server") ?? Environment.GetEnvironmentVariable("ANIMA_SERVER") ?? "http://127.0.0.1:5000").TrimEnd('/');
        var language = arguments.Get("--language") ?? "en";
        var username = arguments.Get("--username");
        var password = arguments.Get("--password") ?? Environment.GetEnvironmentVariable("ANIMA_PASSWORD");
        arguments.ThrowIfUnused();
        if (language is not ("en" or "ko"))
        {
            throw new CliUsageException("--language must be en or ko.");
        }

        AudioClip clip;
        try
        {
            clip = WaveFile.ReadForPipeline(input);
        }
        catch (Exception exception) when (exception is IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
        {
            await context.Error.WriteLineAsync($"Cannot read {input}: {exception.Message}");
            return 1;
        }

        var token = username is null ? new CliSessionStore().Load(server) : null;
        if (token is null)
        {
            if (username is null || password is null)
            {
                throw new CliUsageException("No saved session for this server: give --username and --password (or run `anima chat` first).");
            }

            using var http = new HttpClient { BaseAddress = new Uri(server) };
            using var response = await http.PostAsJsonAsync("/api/auth/signin", new { username, password, session = "token" }, Json, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await context.Error.WriteLineAsync($"Sign-in failed ({(int)response.StatusCode}).");
                return 1;
            }

            token = (await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken)).GetProperty("token").GetString()!;
        }

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        try
        {
            await socket.ConnectAsync(new Uri(server.Replace("http", "ws", StringComparison.Ordinal) + "/api/voice?language=" + language), cancellationToken);
        }
        catch (WebSocketException exception)
        {
            await context.Error.WriteLineAsync($"Cannot open the voice connection to {server}: {exception.Message}. Is Anima running (`dotnet run --project src/Anima.Server`)?");
            return 1;
        }

        var receiving = ReceiveAsync(socket, context, cancellationToken);

        // Real time, in 32 ms frames, then two seconds of silence so the end of the turn is heard.
        var pcm = Pcm16.Encode(clip.Samples).Concat(new byte[64_000]).ToArray();
        foreach (var frame in pcm.Chunk(1024))
        {
            await socket.SendAsync(frame, WebSocketMessageType.Binary, true, cancellationToken);
            await Task.Delay(32, cancellationToken);
        }

        var (reply, finished) = await receiving;
        if (socket.State == WebSocketState.Open)
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        }

        WaveFile.Write(output, new AudioClip(Pcm16.Decode(reply), AudioClip.PipelineSampleRate));
        await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"wrote {reply.Length / 32000.0:0.0} s of reply audio to {output}"));
        return finished ? 0 : 1;
    }

    private static async Task<(byte[] Audio, bool Finished)> ReceiveAsync(ClientWebSocket socket, CliContext context, CancellationToken cancellationToken)
    {
        using var audio = new MemoryStream();
        var buffer = new byte[64 * 1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, timeout.Token);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    message.Position = 0;
                    await message.CopyToAsync(audio, timeout.Token);
                    continue;
                }

                using var document = JsonDocument.Parse(message.ToArray());
                var root = document.RootElement;
                switch (root.GetProperty("type").GetString())
                {
                    case "transcript":
                        await context.Out.WriteLineAsync("you: " + root.GetProperty("text").GetString());
                        break;
                    case "reply-finished":
                        await context.Out.WriteLineAsync("anima: " + root.GetProperty("text").GetString());
                        await context.Out.WriteLineAsync("timings ms: " + root.GetProperty("timingsMs").GetRawText());
                        return (audio.ToArray(), true);
                    case "error":
                        await context.Error.WriteLineAsync("error: " + root.GetProperty("message").GetString());
                        return (audio.ToArray(), false);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync("No reply within three minutes.");
        }

        return (audio.ToArray(), false);
    }
}
