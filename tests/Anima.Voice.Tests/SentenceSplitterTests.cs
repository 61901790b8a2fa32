using Anima.Voice.Synthesis;

namespace Anima.Voice.Tests;

public sealed class SentenceSplitterTests
{
    [Fact]
    public void Append_SentenceCompletedByLaterDelta_YieldsItAsSoonAsTheSpaceArrives()
    {
        var splitter = new SentenceSplitter();
        Assert.Empty(splitter.Append("Hello"));
        Assert.Empty(splitter.Append(" there."));
        Assert.Equal(["Hello there."], splitter.Append(" How"));
        Assert.Empty(splitter.Append(" are you"));
        Assert.Equal("How are you", splitter.Complete());
    }

    [Fact]
    public void Split_EnglishPunctuation_KeepsQuotesDecimalsAndAbbreviations()
    {
        var sentences = SentenceSplitter.Split("Dr. Kim said \"pi is 3.14!\" Really?! Yes… I think so.\nNew line here");
        Assert.Equal(["Dr. Kim said \"pi is 3.14!\"", "Really?!", "Yes…", "I think so.", "New line here"], sentences);
    }

    [Fact]
    public void Split_KoreanEndings_SplitsEvenWithoutSpace()
    {
        var sentences = SentenceSplitter.Split("오늘 정말 좋았어요.내일도 만나요! 그랬구나。알겠습니다.");
        Assert.Equal(["오늘 정말 좋았어요.", "내일도 만나요!", "그랬구나。", "알겠습니다."], sentences);
    }

    [Fact]
    public void Split_LongRunOn_IsCutAtACommaBeforeTheLimit()
    {
        var text = string.Join(", ", Enumerable.Repeat("and then we walked a little further along the river", 8));
        var sentences = SentenceSplitter.Split(text);
        Assert.True(sentences.Count >= 2);
        Assert.All(sentences, sentence => Assert.True(sentence.Length <= SentenceSplitter.MaximumSentenceLength));
        Assert.EndsWith(",", sentences[0], StringComparison.Ordinal);
        Assert.Equal(text.Replace(" ", string.Empty, StringComparison.Ordinal), string.Concat(sentences).Replace(" ", string.Empty, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SplitAsync_TokenStream_YieldsFirstSentenceBeforeTheStreamEnds()
    {
        var gate = new TaskCompletionSource();
        var yielded = new List<string>();
        async IAsyncEnumerable<string> Tokens()
        {
            foreach (var token in new[] { "I", " missed", " you", ".", " Tell", " me" })
            {
                yield return token;
            }

            await gate.Task; // the mind is still thinking
            yield return " everything.";
        }

        var enumerator = SentenceSplitter.SplitAsync(Tokens(), TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        Assert.True(await enumerator.MoveNextAsync());
        Assert.Equal("I missed you.", enumerator.Current);
        gate.SetResult();
        while (await enumerator.MoveNextAsync())
        {
            yielded.Add(enumerator.Current);
        }

        Assert.Equal(["Tell me everything."], yielded);
        await enumerator.DisposeAsync();
    }

    [Fact]
    public void Append_FirstClauseAllowed_CutsOnlyTheFirstPieceAtALongEnoughClauseBreak()
    {
        var splitter = new SentenceSplitter { FirstClauseMinimumLength = SentenceSplitter.DefaultFirstClauseMinimumLength };
        Assert.Empty(splitter.Append("Oh, that"));                       // "Oh," is too short to be spoken alone
        Assert.Empty(splitter.Append(" sounds wonderful,"));              // no whitespace after the comma yet
        Assert.Equal(["Oh, that sounds wonderful,"], splitter.Append(" and I"));
        Assert.Empty(splitter.Append(" think, honestly, you"));           // later pieces wait for the sentence
        Assert.Equal(["and I think, honestly, you should go."], splitter.Append(" should go. "));
        Assert.Equal(["Oh, that sounds wonderful, and I think so."], SentenceSplitter.Split("Oh, that sounds wonderful, and I think so."));
    }

    [Fact]
    public void Complete_OnlyWhitespace_ReturnsNull()
    {
        var splitter = new SentenceSplitter();
        splitter.Append("   \n ");
        Assert.Null(splitter.Complete());
    }
}
