using Anima.Core.Accounts;
using Anima.Core.Conversation;
using Anima.Core.Mind;
using Anima.Core.Prompting;
using Anima.Grains;
using Anima.Server.Accounts;
using Anima.Server.Companion;
using Anima.Server.Memory;
using Anima.Server.Mind;
using Anima.Server.Voice;
using Anima.Storage;
using Anima.Storage.Postgres;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace Anima.Server.Hosting;

/// <summary>All of Anima's wiring for one process: storage, the embedded silo, the mind, accounts and the API.</summary>
public static class AnimaHostingExtensions
{
    public static WebApplicationBuilder AddAnima(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<AnimaOptions>().BindConfiguration(AnimaOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<CompanionOptions>().BindConfiguration(CompanionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MindOptions>().BindConfiguration(MindOptions.SectionName)
            .Validate(options => MindProviders.IsKnown(options.Provider), "Anima:Mind:Provider must be auto, openai, anthropic, ollama, local or none.")
            .ValidateOnStart();
        services.AddOptions<ClusterOptions>().BindConfiguration(ClusterOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingletonTimeProvider();
        var anima = builder.Configuration.GetSection(AnimaOptions.SectionName).Get<AnimaOptions>() ?? new AnimaOptions();
        var cluster = builder.Configuration.GetSection(ClusterOptions.SectionName).Get<ClusterOptions>() ?? new ClusterOptions();

        // Storage: the embedded SQLite database in the data directory, or the cluster's PostgreSQL database.
        if (cluster.IsEnabled)
        {
            services.AddSingleton(_ => new PostgresDatabase(cluster.Postgres!));
            services.AddHostedService<PostgresStartup>();
            services.AddSingleton<IConversationStore, PostgresConversationStore>();
            services.AddSingleton<IAccountStore, PostgresAccountStore>();
            services.AddSingleton<Anima.Memory.Storage.IMemoryStore>(provider => new Anima.Memory.Storage.PostgresMemoryStore(
                provider.GetRequiredService<PostgresDatabase>().DataSource, provider.GetRequiredService<TimeProvider>()));
        }
        else
        {
            services.AddSingleton(provider => new SqliteDatabase(provider.GetRequiredService<IOptions<AnimaOptions>>().Value.DatabasePath));
            services.AddSingleton<IConversationStore, SqliteConversationStore>();
            services.AddSingleton<IAccountStore, SqliteAccountStore>();
            services.AddSingleton<Anima.Memory.Storage.IMemoryStore>(provider => new Anima.Memory.Storage.SqliteMemoryStore(
                new Anima.Memory.Storage.SqliteMemoryStoreOptions { DatabasePath = Path.Combine(provider.GetRequiredService<IOptions<AnimaOptions>>().Value.DataDirectory, "memory.db") },
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<ILogger<Anima.Memory.Storage.SqliteMemoryStore>>()));
        }

        // The companion's turn: perception and the mood it feeds into the prompt.
        services.AddSingleton<PromptComposer>();
        services.AddSingleton<Anima.Core.Diagnostics.TurnTimings>();
        services.AddSingleton(Anima.Core.Diagnostics.GcPauseMonitor.Shared); // an instance: the container never disposes it
        services.AddSingleton<Anima.Perception.ITextEmotionPerceiver>(_ => Anima.Perception.EmotionModel.Default);
        services.AddSingleton<IMessagePerceiver, Perception.TextEmotionPerceiver>();
        services.AddSingleton(new Anima.Perception.Mood.MoodTracker());
        services.AddSingleton<ITurnContextProvider, Perception.MoodContextProvider>();
        services.AddHostedService<Perception.PerceptionWarmup>();
        services.AddHostedService<Memory.MemoryStoreLifetime>();
        var embeddings = builder.Configuration.GetSection(EmbeddingOptions.SectionName).Get<EmbeddingOptions>() ?? new EmbeddingOptions();
        if (embeddings.IsEnabled)
        {
            // Opened at start, so a wrong path or missing model name stops the server with a message naming the setting.
            var generator = embeddings.CreateGenerator();
            services.AddSingleton(generator!);
        }

        services.AddSingleton(provider => new Anima.Memory.Recall.MemoryRecall(
            provider.GetRequiredService<Anima.Memory.Storage.IMemoryStore>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetService<Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>>()));
        services.AddSingleton<Anima.Core.Memory.IConversationMemory, Memory.ConversationMemory>();
        services.AddSingleton<ITurnContextProvider, Memory.MemoryContextProvider>();
        services.AddSingleton<Voice.VoiceEngines>();
        services.AddSingleton<Anima.Core.Policy.HonestyContextProvider>();
        services.AddSingleton<ITurnContextProvider>(provider => provider.GetRequiredService<Anima.Core.Policy.HonestyContextProvider>());

        // The mind.
        services.AddHttpClient();
        services.AddSingleton<ILocalMindSource, LocalGgufMindSource>();
        services.AddSingleton<MindManager>();
        services.AddSingleton<IMind>(provider => provider.GetRequiredService<MindManager>());
        services.AddHostedService<MindStartup>();

        // Accounts.
        services.AddMemoryCache();
        services.AddOptions<PasswordHasherOptions>().BindConfiguration(PasswordHasherOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(provider => provider.GetRequiredService<IOptions<PasswordHasherOptions>>().Value);
        services.AddHostedService<PasswordHashWarning>();
        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<SignInThrottle>();
        services.AddAuthentication(SessionAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, SessionAuthenticationHandler>(SessionAuthenticationHandler.SchemeName, null);
        services.AddAuthorization();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase)));
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(routing => routing.ThrowOnBadRequest = true);

        // The Orleans silo: one grain per user's companion, state in the same database as everything else.
        var companion = builder.Configuration.GetSection(CompanionOptions.SectionName).Get<CompanionOptions>() ?? new CompanionOptions();
        builder.UseOrleans(silo =>
        {
            silo.AddReminders();

            // An idle companion leaves memory after this long and comes back with its state at the next message.
            silo.Configure<Orleans.Configuration.GrainCollectionOptions>(options =>
            {
                options.CollectionAge = companion.DeactivateAfterIdle;
                options.CollectionQuantum = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, companion.DeactivateAfterIdle.Ticks / 2));
            });
            if (cluster.IsEnabled)
            {
                ConfigureCluster(silo, anima, cluster);
            }
            else
            {
                silo.UseLocalhostClustering(anima.SiloPort, anima.GatewayPort);
                silo.Services.AddSingleton<IReminderTable, SqliteReminderTable>();
                silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Companions, (provider, _) => new SqliteGrainStorage(provider.GetRequiredService<SqliteDatabase>()));
            }
        });
        return builder;
    }

    /// <summary>
    /// Cluster mode: membership, reminders and grain state in PostgreSQL, this node's silo reachable at the
    /// advertised address, and a failure detector tuned so that a dead node's companions move within seconds.
    /// </summary>
    private static void ConfigureCluster(ISiloBuilder silo, AnimaOptions anima, ClusterOptions cluster)
    {
        if (!System.Net.IPAddress.TryParse(cluster.AdvertisedAddress, out var address))
        {
            throw new OptionsValidationException(ClusterOptions.SectionName, typeof(ClusterOptions), [$"Anima:Cluster:AdvertisedAddress '{cluster.AdvertisedAddress}' is not an IP address."]);
        }

        silo.Configure<Orleans.Configuration.ClusterOptions>(options =>
        {
            options.ClusterId = cluster.ClusterId;
            options.ServiceId = "anima";
        });
        silo.ConfigureEndpoints(address, anima.SiloPort, anima.GatewayPort, listenOnAnyHostAddress: !System.Net.IPAddress.IsLoopback(address));
        silo.Configure<Orleans.Configuration.ClusterMembershipOptions>(options =>
        {
            options.ProbeTimeout = cluster.ProbeTimeout;
            options.NumMissedProbesLimit = cluster.MissedProbesLimit;
            options.NumVotesForDeathDeclaration = 2;
            options.TableRefreshTimeout = TimeSpan.FromSeconds(5);
            options.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(30);
        });
        silo.Services.AddSingleton<IMembershipTable, PostgresMembershipTable>();
        silo.Services.AddSingleton<IReminderTable, PostgresReminderTable>();
        silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Companions, (provider, _) => new PostgresGrainStorage(provider.GetRequiredService<PostgresDatabase>()));
    }

    public static WebApplication MapAnima(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapAccountsApi();
        app.MapCompanionApi();
        app.MapMindApi();
        app.MapMemoryApi();
        app.MapVoiceApi();
        app.MapAdminApi();
        _ = app.Services.GetRequiredService<Anima.Core.Diagnostics.GcPauseMonitor>(); // listening from the start
        app.MapGet("/api/health", () => TypedResults.Ok(new { status = "ok" })).AllowAnonymous();
        app.MapGet("/api/presence", async (Anima.Core.Policy.HonestyContextProvider honesty, CancellationToken cancellationToken) =>
            TypedResults.Ok(new { activeConversations = await honesty.CountAsync(cancellationToken), windowMinutes = Anima.Core.Policy.HonestyContextProvider.ActiveWindow.TotalMinutes }))
            .RequireAuthorization();
        return app;
    }

    private static void TryAddSingletonTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(descriptor => descriptor.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}

/// <summary>Malformed requests (invalid JSON, a wrong content type, a body too large) become a 400 ProblemDetails that says what is wrong.</summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        httpContext.Response.StatusCode = badRequest.StatusCode;
        var detail = badRequest.InnerException is System.Text.Json.JsonException json
            ? "The request body is not valid JSON: " + json.Message.Split(" Path:")[0]
            : badRequest.Message;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = badRequest.StatusCode, Title = "Bad request", Detail = detail, Type = "https://anima.dev/problems/bad-request" },
        });
    }
}

/// <summary>Creates or checks the cluster database's schema before anything else uses it, and fails the start with a clear message when it is unreachable.</summary>
internal sealed class PostgresStartup(PostgresDatabase database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => database.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Says loudly when password hashing was configured below the recommended strength (acceptable for a load benchmark only).</summary>
internal sealed partial class PasswordHashWarning(PasswordHasherOptions options, ILogger<PasswordHashWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.IsBelowRecommendation)
        {
            LogWeakHashing(logger, options.MemoryKiB, options.Iterations);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Password hashing is set below OWASP's recommendation (Argon2id m={MemoryKiB} KiB, t={Iterations}); use this only for load benchmarks, never for real accounts.")]
    private static partial void LogWeakHashing(ILogger logger, int memoryKiB, int iterations);
}
