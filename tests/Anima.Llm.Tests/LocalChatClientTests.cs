using Anima.Llm.Benchmarking;
using Anima.Llm.Chat;
using Anima.Llm.Inference;
using Microsoft.Extensions.AI;

namespace Anima.Llm.Tests;

public sealed class LocalChatClientTests
{
    private static ChatOptions Greedy(int maxTokens = 24, string? conversation = null) => new()
    {
        Temperature = 0,
        MaxOutputTokens = maxTokens,
        ConversationId = conversation,
        AdditionalProperties = new AdditionalPropertiesDictionary { ["repeat_penalty"] = 1f },
    };

    [Fact]
    public async Task GetResponseAsync_Stories260K_ContinuesTheStory()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Stories260K());
        Assert.Equal(ChatTemplateKind.Plain, client.Model.Template.Kind);
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], Greedy(), TestContext.Current.CancellationToken);
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
        Assert.NotNull(response.Usage);
        Assert.InRange(response.Usage.OutputTokenCount!.Value, 1, 24);
        Assert.Equal(ChatRole.Assistant, response.Messages[^1].Role);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_SameSettings_EqualsNonStreamingText()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Stories260K());
        var options = new ChatOptions { Temperature = 0.8f, Seed = 7, MaxOutputTokens = 30 };
        var whole = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Lily saw a cat")], options, TestContext.Current.CancellationToken);
        var pieces = new List<string>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Lily saw a cat")], options, TestContext.Current.CancellationToken))
        {
            pieces.Add(update.Text);
        }

        Assert.True(pieces.Count(piece => piece.Length > 0) > 1, "the reply should stream in several pieces");
        Assert.Equal(whole.Text, string.Concat(pieces));
    }

    [Fact]
    public async Task GetResponseAsync_SameConversation_ReusesCachedPrefix()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Stories260K());
        List<ChatMessage> conversation = [new(ChatRole.User, "Tom had a red ball.")];
        var first = await client.GetResponseAsync(conversation, Greedy(conversation: "c1"), TestContext.Current.CancellationToken);
        Assert.Equal(0, first.Usage!.CachedInputTokenCount);
        conversation.AddRange(first.Messages);
        conversation.Add(new ChatMessage(ChatRole.User, "Where did the ball go?"));
        var second = await client.GetResponseAsync(conversation, Greedy(conversation: "c1"), TestContext.Current.CancellationToken);
        var firstPromptTokens = first.Usage.InputTokenCount!.Value;
        Assert.True(second.Usage!.CachedInputTokenCount >= firstPromptTokens, $"cached {second.Usage.CachedInputTokenCount} of a first prompt of {firstPromptTokens}");

        var other = await client.GetResponseAsync(conversation, Greedy(conversation: "c2"), TestContext.Current.CancellationToken);
        Assert.Equal(0, other.Usage!.CachedInputTokenCount);
        Assert.Equal(second.Text, other.Text);
    }

    [Fact]
    public async Task GetResponseAsync_MaxOutputTokens_StopsWithLengthReason()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Tiny("qwen2", QuantizationScheme.Q8_0));
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello 안녕")], Greedy(maxTokens: 5), TestContext.Current.CancellationToken);
        Assert.Equal(5, response.Usage!.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task GetResponseAsync_StopSequence_CutsTheReply()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Stories260K());
        var full = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], Greedy(maxTokens: 40), TestContext.Current.CancellationToken);
        var words = full.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length > 4);
        var stop = words[3];
        var options = Greedy(maxTokens: 40);
        options.StopSequences = [stop];
        var cut = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], options, TestContext.Current.CancellationToken);
        Assert.Equal(full.Text[..full.Text.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Stories260K());
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], Greedy(maxTokens: 200), cancellation.Token))
            {
                received++;
                await cancellation.CancelAsync();
            }
        });
        Assert.Equal(1, received);

        // The client is still usable afterwards.
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], Greedy(maxTokens: 5), TestContext.Current.CancellationToken);
        Assert.NotEmpty(response.Text);
    }

    [Fact]
    public async Task GetResponseAsync_MessageLongerThanContext_ThrowsContextOverflow()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Stories260K(), new LocalChatClientOptions { ContextLength = 64 });
        var longText = string.Join(' ', Enumerable.Repeat("the little dog ran fast", 40));
        await Assert.ThrowsAsync<ContextOverflowException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, longText)], Greedy(maxTokens: 8), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task GetResponseAsync_LongConversation_DropsOldestTurnsAndAnswers()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Stories260K(), new LocalChatClientOptions { ContextLength = 96 });
        var messages = new List<ChatMessage> { new(ChatRole.System, "Stories.") };
        for (var turn = 0; turn < 12; turn++)
        {
            messages.Add(new ChatMessage(ChatRole.User, $"Lily played with the ball {turn}."));
            messages.Add(new ChatMessage(ChatRole.Assistant, "She was happy and she ran."));
        }

        messages.Add(new ChatMessage(ChatRole.User, "What did Lily do?"));
        var response = await client.GetResponseAsync(messages, Greedy(maxTokens: 8), TestContext.Current.CancellationToken);
        Assert.True(response.Usage!.InputTokenCount + 8 <= 96);
        Assert.NotEmpty(response.Text);
    }

    [Fact]
    public async Task GetResponseAsync_ConcurrentRequests_AreSerializedAndComplete()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Stories260K());
        var tasks = Enumerable.Range(0, 4).Select(i => client.GetResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], Greedy(maxTokens: 10, conversation: "c" + i), TestContext.Current.CancellationToken)).ToArray();
        var responses = await Task.WhenAll(tasks);
        Assert.All(responses, response => Assert.Equal(responses[0].Text, response.Text));
    }

    [Fact]
    public void GetService_Metadata_NamesTheModel()
    {
        using var client = LocalChatClient.Open(ModelFixtures.Stories260K());
        var metadata = client.GetService<ChatClientMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal("anima-local", metadata.ProviderName);
        Assert.Same(client, client.GetService<LocalChatClient>());
    }

    [Theory]
    [InlineData("{% for m in messages %}<|im_start|>{{ m.role }}", ChatTemplateKind.ChatMl)]
    [InlineData("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}", ChatTemplateKind.Llama3)]
    [InlineData("{{ '<start_of_turn>' + role + '\n' }}", ChatTemplateKind.Gemma)]
    [InlineData("", ChatTemplateKind.Plain)]
    public void Detect_TemplateText_ChoosesFormat(string template, ChatTemplateKind expected)
    {
        Assert.Equal(expected, ChatTemplate.Detect(template, ["a", "b"]));
    }

    [Fact]
    public void Render_ChatMl_FormatsTurnsAndOpensAssistantTurn()
    {
        var text = ChatTemplate.For(ChatTemplateKind.ChatMl).Render([new("system", "너는 친구야."), new("user", "안녕?")], null);
        Assert.Equal("<|im_start|>system\n너는 친구야.<|im_end|>\n<|im_start|>user\n안녕?<|im_end|>\n<|im_start|>assistant\n", text);
    }

    [Fact]
    public void Render_Gemma_FoldsSystemIntoFirstUserTurnAndCallsAssistantModel()
    {
        // Gemma 3's own template: no system role; the system text opens the first user turn.
        var text = ChatTemplate.For(ChatTemplateKind.Gemma).Render([new("system", "너는 친구야."), new("user", "안녕?"), new("assistant", "안녕!"), new("user", "How are you?")], "<bos>");
        Assert.Equal("<bos><start_of_turn>user\n너는 친구야.\n\n안녕?<end_of_turn>\n<start_of_turn>model\n안녕!<end_of_turn>\n<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n", text);
    }

    [Fact]
    public void Render_Llama3_AddsBeginningAndHeaders()
    {
        var text = ChatTemplate.For(ChatTemplateKind.Llama3).Render([new("user", "Hi")], "<|begin_of_text|>");
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", text);
    }

    [Fact]
    public void Render_Gemma_FoldsSystemIntoFirstUserTurn()
    {
        var text = ChatTemplate.For(ChatTemplateKind.Gemma).Render([new("system", "Be kind."), new("user", "Hi"), new("assistant", "Hello"), new("user", "Bye")], "<bos>");
        Assert.Equal("<bos><start_of_turn>user\nBe kind.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n", text);
    }

    [Fact]
    public void Sample_SameSeed_SameTokens()
    {
        var logits = Enumerable.Range(0, 100).Select(i => (float)Math.Sin(i)).ToArray();
        var options = new SamplingOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0, Seed = 3 };
        var first = new Sampler(options);
        var second = new Sampler(options);
        var a = Enumerable.Range(0, 20).Select(_ => first.Sample(logits, [])).ToArray();
        var b = Enumerable.Range(0, 20).Select(_ => second.Sample(logits, [])).ToArray();
        Assert.Equal(a, b);
        Assert.True(a.Distinct().Count() > 3);
    }

    [Fact]
    public void Sample_TopKOne_IsGreedy()
    {
        var logits = new[] { 0.1f, 3f, 2.9f, -1f };
        var sampler = new Sampler(new SamplingOptions { Temperature = 2, TopK = 1, Seed = 1, RepetitionPenalty = 1 });
        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal(1, sampler.Sample(logits, [])));
    }

    [Fact]
    public void Sample_RepetitionPenalty_AvoidsRecentToken()
    {
        var logits = new[] { 0.1f, 3f, 2.9f, -1f };
        var sampler = new Sampler(new SamplingOptions { Temperature = 0, RepetitionPenalty = 1.5f });
        Assert.Equal(2, sampler.Sample(logits, [1]));
    }
}
