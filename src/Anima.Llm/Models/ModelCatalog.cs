namespace Anima.Llm.Models;

/// <summary>A downloadable chat model. <see cref="Sha256"/> and <see cref="SizeBytes"/> are checked when known.</summary>
public sealed record CatalogModel(string Name, string Description, Uri Url, string FileName, long? SizeBytes, string? Sha256);

/// <summary>
/// Known-good default chat models for <c>anima model pull</c>. The checksums and sizes of these
/// publisher files could not be looked up where this table was written (no internet access; the stored
/// copies of Hugging Face pages searched on 2026-11-23 held only third-party re-quantizations, whose
/// hashes belong to other files). Where they are null, <c>model pull</c> reads the publisher's SHA-256 and
/// size from Hugging Face (<see cref="PublisherChecksum"/>) before downloading and verifies against those.
/// Fill them in from the file page to pin the files.
/// </summary>
public static class ModelCatalog
{
    public const string DefaultModelName = "qwen2.5-1.5b-instruct";

    public static IReadOnlyList<CatalogModel> Models { get; } =
    [
        new(DefaultModelName, "Qwen2.5-1.5B-Instruct, Q4_K_M (about 1.1 GB): Korean and English, Apache-2.0.",
            new Uri("https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/main/qwen2.5-1.5b-instruct-q4_k_m.gguf"),
            "qwen2.5-1.5b-instruct-q4_k_m.gguf", null, null),
        new("qwen2.5-0.5b-instruct", "Qwen2.5-0.5B-Instruct, Q8_0 (about 0.5 GB): the fastest, for small machines, Apache-2.0.",
            new Uri("https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q8_0.gguf"),
            "qwen2.5-0.5b-instruct-q8_0.gguf", null, null),
    ];

    public static CatalogModel? Find(string name) =>
        Models.FirstOrDefault(model => string.Equals(model.Name, name, StringComparison.OrdinalIgnoreCase));
}
