using System.Numerics.Tensors;
using Anima.Llm.Benchmarking;
using Anima.Llm.Chat;
using Anima.Llm.Embeddings;
using Microsoft.Extensions.AI;

namespace Anima.Llm.Tests;

public sealed class LocalEmbeddingGeneratorTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("qwen3", QuantizationScheme.Q4_K_M)]
    [InlineData("llama", QuantizationScheme.Q8_0)]
    public async Task Generate_TinyModel_GivesUnitVectorsOfTheModelsWidth_SameTextSameVector(string architecture, QuantizationScheme scheme)
    {
        using var generator = LocalEmbeddingGenerator.Open(ModelFixtures.Tiny(architecture, scheme));

        var embeddings = await generator.GenerateAsync(["the pottery class", "a walk by the sea", "the pottery class"], cancellationToken: Token);

        Assert.Equal(3, embeddings.Count);
        Assert.All(embeddings, embedding =>
        {
            Assert.Equal(256, embedding.Vector.Length);
            Assert.Equal(1f, TensorPrimitives.Norm(embedding.Vector.Span), 4);
        });
        Assert.Equal(embeddings[0].Vector.ToArray(), embeddings[2].Vector.ToArray());
        Assert.True(TensorPrimitives.CosineSimilarity(embeddings[0].Vector.Span, embeddings[1].Vector.Span) < 0.9999f);
        Assert.True(embeddings.Usage?.InputTokenCount > 0);
        Assert.Equal(256, generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelDimensions);
    }

    [Fact]
    public async Task Generate_IsTheLastTokensFinalHiddenState_Normalised()
    {
        using var model = LocalModel.Open(ModelFixtures.Tiny("qwen3", QuantizationScheme.Q8_0));
        using var generator = new LocalEmbeddingGenerator(model);
        var tokens = generator.Tokens("we made bowls at the pottery class");

        var embedding = (await generator.GenerateAsync(["we made bowls at the pottery class"], cancellationToken: Token))[0].Vector.ToArray();
        // The same pass token by token: the hidden state of the last token (the end of sequence) only.
        var session = model.Transformer.CreateSession();
        foreach (var token in tokens[..^1])
        {
            model.Transformer.Forward(session, [token], computeLogits: false, Token);
        }

        var hidden = new float[256];
        model.Transformer.FinalHiddenState(session, [tokens[^1]], hidden, Token);
        TensorPrimitives.Divide(hidden, TensorPrimitives.Norm(hidden), hidden);

        Assert.Equal(model.Tokenizer.EndOfSequence, tokens[^1]);
        Assert.Equal(tokens.Count, session.Length);
        Assert.True(TensorPrimitives.CosineSimilarity(embedding, hidden) > 0.9999f);
    }

    [Fact]
    public async Task Generate_LongText_IsCutToMaxTokensAndStillEndsWithEndOfSequence()
    {
        using var generator = LocalEmbeddingGenerator.Open(ModelFixtures.Tiny("qwen3", QuantizationScheme.Q8_0), new LocalEmbeddingGeneratorOptions { MaxTokens = 40 });
        var longText = string.Join(' ', Enumerable.Repeat("pottery class with the kids", 50));

        var tokens = generator.Tokens(longText);
        var embeddings = await generator.GenerateAsync([longText], cancellationToken: Token);

        Assert.Equal(40, tokens.Count);
        Assert.Single(embeddings);
    }

    [Fact]
    public async Task Generate_WrongDimensionsOrBadOptions_Throw()
    {
        using var model = LocalModel.Open(ModelFixtures.Tiny("qwen3", QuantizationScheme.Q8_0));
        using var generator = new LocalEmbeddingGenerator(model);

        await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 1024 }, Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LocalEmbeddingGenerator(model, new LocalEmbeddingGeneratorOptions { MaxTokens = 1 }));
    }
}
