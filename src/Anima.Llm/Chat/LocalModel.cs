using Anima.Llm.Gguf;
using Anima.Llm.Inference;
using Anima.Llm.Tokenization;

namespace Anima.Llm.Chat;

/// <summary>A GGUF model ready to chat: its transformer, tokenizer and chat template.</summary>
public sealed class LocalModel : IDisposable
{
    public LocalModel(TransformerModel transformer)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        Transformer = transformer;
        Tokenizer = Tokenizer.FromGguf(transformer.File);
        if (Tokenizer.VocabularySize != transformer.Config.VocabularySize)
        {
            throw new GgufFormatException($"'{transformer.File.Path}': the tokenizer has {Tokenizer.VocabularySize} tokens but the model's embedding has {transformer.Config.VocabularySize}.");
        }

        Template = ChatTemplate.Detect(transformer.File);
        Name = transformer.File.TryGetString("general.name") ?? Path.GetFileNameWithoutExtension(transformer.File.Path);
    }

    /// <summary>Opens and validates a GGUF model: architecture, tensor types and shapes, tokenizer.</summary>
    public static LocalModel Open(string path)
    {
        var transformer = TransformerModel.Load(path);
        try
        {
            return new LocalModel(transformer);
        }
        catch
        {
            transformer.Dispose();
            throw;
        }
    }

    public TransformerModel Transformer { get; }

    public Tokenizer Tokenizer { get; }

    public ChatTemplate Template { get; }

    public string Name { get; }

    public void Dispose() => Transformer.Dispose();
}
