using System.Text;
using Anima.Llm.Gguf;

namespace Anima.Llm.Chat;

/// <summary>The prompt formats the engine knows, detected from <c>tokenizer.chat_template</c>.</summary>
public enum ChatTemplateKind
{
    /// <summary><c>&lt;|im_start|&gt;role\n…&lt;|im_end|&gt;</c>: Qwen, SmolLM2, many others.</summary>
    ChatMl,

    /// <summary><c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n…&lt;|eot_id|&gt;</c>: Llama 3.x.</summary>
    Llama3,

    /// <summary><c>&lt;start_of_turn&gt;user\n…&lt;end_of_turn&gt;</c>, assistant called "model", system folded into the first user turn.</summary>
    Gemma,

    /// <summary>No chat format (a base model such as stories260K): "Role: text" lines.</summary>
    Plain,
}

/// <summary>One turn of a conversation given to a template.</summary>
public readonly record struct ChatTurn(string Role, string Content);

/// <summary>Renders conversations into a model's prompt format.</summary>
public sealed class ChatTemplate
{
    private ChatTemplate(ChatTemplateKind kind) => Kind = kind;

    public ChatTemplateKind Kind { get; }

    public static ChatTemplate For(ChatTemplateKind kind) => new(kind);

    /// <summary>Chooses the template from the model's metadata (its Jinja template text, else its special tokens).</summary>
    public static ChatTemplate Detect(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var template = file.TryGetString("tokenizer.chat_template") ?? string.Empty;
        var tokens = file.TryGetArray<string>("tokenizer.ggml.tokens") ?? [];
        return new ChatTemplate(Detect(template, tokens));
    }

    public static ChatTemplateKind Detect(string template, IReadOnlyCollection<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(tokens);
        if (template.Contains("<|start_header_id|>", StringComparison.Ordinal))
        {
            return ChatTemplateKind.Llama3;
        }

        if (template.Contains("<start_of_turn>", StringComparison.Ordinal))
        {
            return ChatTemplateKind.Gemma;
        }

        if (template.Contains("<|im_start|>", StringComparison.Ordinal))
        {
            return ChatTemplateKind.ChatMl;
        }

        if (tokens.Contains("<|im_start|>"))
        {
            return ChatTemplateKind.ChatMl;
        }

        if (tokens.Contains("<|start_header_id|>"))
        {
            return ChatTemplateKind.Llama3;
        }

        return tokens.Contains("<start_of_turn>") ? ChatTemplateKind.Gemma : ChatTemplateKind.Plain;
    }

    /// <summary>The prompt text for <paramref name="turns"/>, ending where the assistant's reply begins.</summary>
    public string Render(IReadOnlyList<ChatTurn> turns, string? beginningOfSequence)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var builder = new StringBuilder();
        switch (Kind)
        {
            case ChatTemplateKind.ChatMl:
                foreach (var turn in turns)
                {
                    builder.Append("<|im_start|>").Append(turn.Role).Append('\n').Append(turn.Content).Append("<|im_end|>\n");
                }

                builder.Append("<|im_start|>assistant\n");
                break;
            case ChatTemplateKind.Llama3:
                builder.Append(beginningOfSequence ?? "<|begin_of_text|>");
                foreach (var turn in turns)
                {
                    builder.Append("<|start_header_id|>").Append(turn.Role).Append("<|end_header_id|>\n\n").Append(turn.Content.Trim()).Append("<|eot_id|>");
                }

                builder.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                break;
            case ChatTemplateKind.Gemma:
                builder.Append(beginningOfSequence ?? "<bos>");
                string? pendingSystem = null;
                foreach (var turn in turns)
                {
                    if (turn.Role == "system")
                    {
                        pendingSystem = pendingSystem is null ? turn.Content : pendingSystem + "\n\n" + turn.Content;
                        continue;
                    }

                    var role = turn.Role == "assistant" ? "model" : "user";
                    var content = pendingSystem is not null && role == "user" ? pendingSystem + "\n\n" + turn.Content : turn.Content;
                    if (role == "user")
                    {
                        pendingSystem = null;
                    }

                    builder.Append("<start_of_turn>").Append(role).Append('\n').Append(content.Trim()).Append("<end_of_turn>\n");
                }

                builder.Append("<start_of_turn>model\n");
                break;
            default:
                foreach (var turn in turns)
                {
                    builder.Append(turn.Role switch { "system" => "System", "assistant" => "Assistant", _ => "User" })
                        .Append(": ").Append(turn.Content).Append('\n');
                }

                builder.Append("Assistant:");
                break;
        }

        return builder.ToString();
    }

    /// <summary>Text that ends the assistant's turn in this format, beyond the tokenizer's end-of-generation tokens.</summary>
    public IReadOnlyList<string> StopTexts => Kind == ChatTemplateKind.Plain ? ["\nUser:", "\nSystem:"] : [];
}
