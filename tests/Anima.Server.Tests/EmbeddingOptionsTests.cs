using Anima.Memory.Embeddings;
using Anima.Server.Memory;

namespace Anima.Server.Tests;

public sealed class EmbeddingOptionsTests
{
    [Fact]
    public void CreateGenerator_NothingConfigured_GivesNone() =>
        Assert.Null(new EmbeddingOptions().CreateGenerator());

    [Fact]
    public void CreateGenerator_Endpoint_GivesTheServiceClient()
    {
        using var generator = new EmbeddingOptions { Endpoint = new Uri("http://127.0.0.1:8080/v1"), Model = "qwen3-embedding" }.CreateGenerator();

        Assert.IsType<OpenAiCompatibleEmbeddingGenerator>(generator);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/v1", null, null, "Model")]
    [InlineData("http://127.0.0.1:8080/v1", "m", "/tmp/x.gguf", "not both")]
    [InlineData(null, null, "/nonexistent/embed.gguf", "does not exist")]
    public void CreateGenerator_WrongSettings_ThrowNamingTheSetting(string? endpoint, string? model, string? path, string expected)
    {
        var options = new EmbeddingOptions { Endpoint = endpoint is null ? null : new Uri(endpoint), Model = model, ModelPath = path };

        var error = Assert.ThrowsAny<Exception>(() => options.CreateGenerator());

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
