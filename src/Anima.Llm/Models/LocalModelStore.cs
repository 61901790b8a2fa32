using System.Text.Json;
using Anima.Llm.Chat;

namespace Anima.Llm.Models;

/// <summary>The local model choice, stored as JSON in <c>llm.json</c> under the Anima data folder.</summary>
public sealed record LocalModelSettings
{
    /// <summary>Full path of the selected GGUF file, or null when none is selected.</summary>
    public string? ModelPath { get; init; }

    public DateTimeOffset? SelectedAt { get; init; }
}

/// <summary>What <see cref="LocalModelStore.Use"/> found in a model file.</summary>
public sealed record LocalModelInfo(string Path, string Name, string Architecture, int Layers, int EmbeddingLength, int VocabularySize, int ContextLength, ChatTemplateKind Template, long SizeBytes);

/// <summary>
/// Where local models and the model choice live: <c>&lt;LocalApplicationData&gt;/Anima/</c> (or the
/// <c>ANIMA_HOME</c> environment variable), <c>models/</c> for downloads, <c>llm.json</c> for the
/// selection. The server reads the same file through <see cref="ResolveModelPath"/>.
/// </summary>
public static class LocalModelStore
{
    public const string SettingsFileName = "llm.json";
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable("ANIMA_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "Anima");

    public static string SettingsPath(string? directory = null) => Path.Combine(directory ?? DefaultDirectory, SettingsFileName);

    public static string ModelsDirectory(string? directory = null) => Path.Combine(directory ?? DefaultDirectory, "models");

    public static LocalModelSettings Load(string? directory = null)
    {
        var path = SettingsPath(directory);
        if (!File.Exists(path))
        {
            return new LocalModelSettings();
        }

        try
        {
            return JsonSerializer.Deserialize<LocalModelSettings>(File.ReadAllText(path), JsonOptions) ?? new LocalModelSettings();
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"The model settings file '{path}' is not valid JSON: {exception.Message}", exception);
        }
    }

    public static void Save(LocalModelSettings settings, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var path = SettingsPath(directory);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(settings, JsonOptions));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The selected model's path when one is selected and the file exists; else null (no local mind).</summary>
    public static string? ResolveModelPath(string? directory = null)
    {
        var path = Load(directory).ModelPath;
        return path is not null && File.Exists(path) ? path : null;
    }

    /// <summary>Opens and fully validates <paramref name="path"/> as a chat model (architecture, tensor types and shapes, tokenizer), then records it as the selection.</summary>
    public static LocalModelInfo Use(string path, TimeProvider timeProvider, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        var info = Inspect(path);
        Save(new LocalModelSettings { ModelPath = info.Path, SelectedAt = timeProvider.GetUtcNow() }, directory);
        return info;
    }

    public static LocalModelInfo Inspect(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        using var model = LocalModel.Open(fullPath);
        var config = model.Transformer.Config;
        return new LocalModelInfo(fullPath, model.Name, config.Architecture, config.LayerCount, config.EmbeddingLength, config.VocabularySize, config.ContextLength, model.Template.Kind, new FileInfo(fullPath).Length);
    }
}
