using Anima.Testing;
using Microsoft.Playwright;

namespace Anima.Server.Tests;

/// <summary>The page in real Chromium (Debian's), against the real server and a scripted mind on loopback.</summary>
public sealed class PageTests : IAsyncLifetime
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private ScriptedMindServer _mind = null!;
    private AnimaTestHost _host = null!;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public static string ScreenshotDirectory { get; } = Path.Combine(SharedData.RepositoryRoot, "artifacts", "screenshots");

    public async ValueTask InitializeAsync()
    {
        Assert.SkipUnless(File.Exists(ChromiumPath), "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it.");
        _mind = await ScriptedMindServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _mind.TokensPerSecond = 40;
        _mind.Script = messages =>
        {
            if (messages[0].Text.Contains("long-term memory of a companion", StringComparison.Ordinal))
            {
                return """{"memories":[{"kind":"preference","text":"The user loves writing letters by hand.","importance":0.7,"confidence":0.9,"eventDate":null,"supersedes":[],"turns":["t1"]}],"reflection":null}""";
            }

            var last = messages.Last(message => message.Role == "user").Text;
            if (last.Contains("Answer with JSON only", StringComparison.Ordinal))
            {
                return """{"name": "Sol", "reason": "our first talk felt warm and bright, like morning light"}""";
            }

            return last.StartsWith("(The user has just switched you on", StringComparison.Ordinal)
                ? "Hello! I'm new here — I haven't chosen a name yet. **What should I call you?**"
                : $"That sounds meaningful. Tell me more about *that*: `{last.Length}` characters of it. <script>window.pwned = true</script>";
        };
        _host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(_mind, "scripted-model", ("Anima:Companion:ConsolidateAfterIdle", "00:00:01")));
        await _host.StartAsync(TestContext.Current.CancellationToken);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_mind is not null)
        {
            await _mind.DisposeAsync();
        }
    }

    [Fact]
    public async Task Page_SignUpFirstMeetingSendAndReload_ConversationStreamsAndPersists()
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { Locale = "en-US", ViewportSize = new ViewportSize { Width = 900, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(_host.BaseAddress.ToString());

        await page.ClickAsync("#tab-signup");
        await page.FillAsync("#username", "theodore");
        await page.FillAsync("#password", "letters to catherine");
        await page.ClickAsync("#auth-submit");
        await page.Locator("#first-boot").WaitForAsync();
        await Assertions.Expect(page.Locator("#mind-badge")).ToContainTextAsync("scripted-model");

        await page.ClickAsync("[data-begin=en]");
        await Assertions.Expect(page.Locator(".message.companion .bubble").First).ToContainTextAsync("What should I call you?");
        Assert.Equal(1, await page.Locator(".message.companion .bubble strong").CountAsync());
        await Assertions.Expect(page.Locator("#send-button")).ToBeVisibleAsync();

        await page.FillAsync("#message-input", "Theodore");
        await page.PressAsync("#message-input", "Enter");
        await Assertions.Expect(page.Locator(".message.companion").Nth(1)).ToContainTextAsync("Tell me more");
        await Assertions.Expect(page.Locator("#send-button")).ToBeVisibleAsync();

        await page.FillAsync("#message-input", "I write letters for other people.");
        await page.PressAsync("#message-input", "Enter");
        await Assertions.Expect(page.Locator("#companion-name")).ToHaveTextAsync("Sol");
        await Assertions.Expect(page.Locator(".message.companion").Nth(2)).ToContainTextAsync("<script>");
        await Assertions.Expect(page.Locator("#send-button")).ToBeVisibleAsync();

        // Model output is rendered as markdown but never as HTML: the script tag shows as text and never runs.
        Assert.False(await page.EvaluateAsync<bool>("() => window.pwned === true"));
        await Assertions.Expect(page.Locator(".message.companion").Nth(2)).ToContainTextAsync("<script>");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, "chat-en.png"), FullPage = true });

        await page.ReloadAsync();
        await Assertions.Expect(page.Locator(".message")).ToHaveCountAsync(5);
        await Assertions.Expect(page.Locator("#companion-name")).ToHaveTextAsync("Sol");
        await Assertions.Expect(page.Locator(".message.user .bubble").Nth(1)).ToHaveTextAsync("I write letters for other people.");
    }

    [Fact]
    public async Task Page_MoodAndMemories_PlotAndEditableList()
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { Locale = "en-US", ViewportSize = new ViewportSize { Width = 900, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(_host.BaseAddress.ToString());
        await page.ClickAsync("#tab-signup");
        await page.FillAsync("#username", "mood-user");
        await page.FillAsync("#password", "mood user password");
        await page.ClickAsync("#auth-submit");
        foreach (var text in new[] { "I love writing letters by hand, it makes me so happy!", "But today I feel tired and a bit sad.", "Thanks for listening, I feel calmer now." })
        {
            await page.FillAsync("#message-input", text);
            await page.PressAsync("#message-input", "Enter");
            await Assertions.Expect(page.Locator("#send-button")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator(".message.companion").Last).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("thinking"));
        }

        await page.ClickAsync("#mood-button");
        await Assertions.Expect(page.Locator("#mood-plot svg circle")).ToHaveCountAsync(3);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, "mood.png") });
        await page.ClickAsync("[data-close=mood-view]");

        // Consolidation runs after a quiet second; the learned preference appears and can be corrected.
        await page.ClickAsync("#memories-button");
        for (var attempt = 0; attempt < 40 && await page.Locator(".memory").CountAsync() == 0; attempt++)
        {
            await page.WaitForTimeoutAsync(250);
            await page.ClickAsync("#memory-search button[type=submit]");
        }

        await Assertions.Expect(page.Locator(".memory .memory-text").First).ToHaveTextAsync("The user loves writing letters by hand.");
        await page.ClickAsync(".memory-actions button >> nth=0");
        await page.FillAsync(".memory textarea", "The user loves writing letters by hand, with a fountain pen.");
        await page.ClickAsync(".memory-actions button.primary");
        await Assertions.Expect(page.Locator(".memory .memory-text").First).ToHaveTextAsync("The user loves writing letters by hand, with a fountain pen.");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, "memories.png") });
        await page.ClickAsync(".memory-actions button >> nth=1");
        await Assertions.Expect(page.Locator(".memory")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Page_Korean_InterfaceAndNoMindBanner()
    {
        await using var host = new AnimaTestHost();
        await host.StartAsync(TestContext.Current.CancellationToken);
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { Locale = "ko-KR", ViewportSize = new ViewportSize { Width = 900, Height = 800 } });
        await context.SetExtraHTTPHeadersAsync(new Dictionary<string, string> { ["Accept-Language"] = "ko-KR,ko" });
        var page = await context.NewPageAsync();
        await page.GotoAsync(host.BaseAddress.ToString());

        await Assertions.Expect(page.Locator("#auth-view h1")).ToHaveTextAsync("Anima에 오신 것을 환영해요");
        await page.ClickAsync("#tab-signup");
        await page.FillAsync("#username", "민아");
        await page.FillAsync("#password", "비밀번호는길어요");
        await page.ClickAsync("#auth-submit");

        await Assertions.Expect(page.Locator("#mind-banner")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#mind-banner strong")).ToHaveTextAsync("연결된 언어 모델이 없어요.");
        await page.FillAsync("#message-input", "안녕, 오늘 좀 피곤해.");
        await page.PressAsync("#message-input", "Enter");
        await Assertions.Expect(page.Locator("#composer-error")).ToContainTextAsync("메시지는 저장됐어요");
        await Assertions.Expect(page.Locator("#mind-steps li").First).ToContainTextAsync("로컬 모델 서버");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, "no-mind-ko.png"), FullPage = true });

        await page.ReloadAsync();
        await Assertions.Expect(page.Locator(".message.user .bubble")).ToHaveTextAsync("안녕, 오늘 좀 피곤해.");
    }
}

/// <summary>The voice mode in Chromium with a fake microphone that plays speech made by espeak-ng.</summary>
public sealed class VoicePageTests
{
    [Fact]
    public async Task VoicePage_HandsFreeWithFakeMicrophone_TranscribesAndAnswers()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/chromium") && File.Exists("/usr/bin/espeak-ng") && File.Exists("/usr/lib/x86_64-linux-gnu/libpocketsphinx.so.3"),
            "chromium, espeak-ng and pocketsphinx are needed for the voice page test.");
        var cancellationToken = TestContext.Current.CancellationToken;
        var speech = Path.Combine(Path.GetTempPath(), $"anima-speech-{Guid.NewGuid():N}.wav");
        var wav = Path.ChangeExtension(speech, ".mic.wav");
        using (var espeak = System.Diagnostics.Process.Start("espeak-ng", ["-v", "en-us", "-s", "140", "-w", speech, "hello world"])!)
        {
            await espeak.WaitForExitAsync(cancellationToken);
        }

        // Chromium loops the file: ten seconds of silence after the words leave time for the whole reply
        // before the "user" speaks again (which would rightly interrupt it).
        using (var sox = System.Diagnostics.Process.Start("sox", [speech, wav, "pad", "0", "10"])!)
        {
            await sox.WaitForExitAsync(cancellationToken);
        }

        await using var mind = await ScriptedMindServer.StartAsync(cancellationToken: cancellationToken);
        mind.Script = _ => "I can hear you. That is lovely.";
        await using var host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(mind));
        await host.StartAsync(cancellationToken);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--use-file-for-fake-audio-capture=" + wav, "--autoplay-policy=no-user-gesture-required"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { Locale = "en-US", Permissions = ["microphone"] });
        var page = await context.NewPageAsync();
        await page.GotoAsync(host.BaseAddress.ToString());
        await page.ClickAsync("#tab-signup");
        await page.FillAsync("#username", "voice-user");
        await page.FillAsync("#password", "voice user password");
        await page.ClickAsync("#auth-submit");
        await page.Locator("#voice-button").WaitForAsync();

        await page.ClickAsync("#voice-button");

        await Assertions.Expect(page.Locator(".message.companion .bubble", new() { HasText = "I can hear you." }).First).ToBeVisibleAsync(new() { Timeout = 45_000 });
        await Assertions.Expect(page.Locator(".message.user .bubble").First).Not.ToBeEmptyAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(PageTests.ScreenshotDirectory, "voice.png") });
        await page.ClickAsync("#voice-button");
        File.Delete(wav);
        File.Delete(speech);
    }
}
