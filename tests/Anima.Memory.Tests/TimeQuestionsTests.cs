using Anima.Memory.Recall;

namespace Anima.Memory.Tests;

public sealed class TimeQuestionsTests
{
    [Theory]
    [InlineData("When did Caroline go to the support group?", true)]
    [InlineData("What year did you move to Busan?", true)]
    [InlineData("How long ago was the interview?", true)]
    [InlineData("면접 언제 봤어?", true)]
    [InlineData("몇 월에 이사했어?", true)]
    [InlineData("What did Caroline research?", false)]
    [InlineData("면접은 어땠어?", false)]
    [InlineData("", false)]
    public void AsksWhen_Question_DetectsTimeQuestions(string question, bool expected)
    {
        Assert.Equal(expected, TimeQuestions.AsksWhen(question));
    }

    [Theory]
    [InlineData("I went to a LGBTQ support group yesterday", true)]
    [InlineData("We moved last May", true)]
    [InlineData("Graduated in 2019", true)]
    [InlineData("Painting on Saturdays", true)]
    [InlineData("어제 면접을 봤어", true)]
    [InlineData("3월 5일에 이사했어", true)]
    [InlineData("지난주에 부산 갔어", true)]
    [InlineData("I love pottery", false)]
    [InlineData("Bought 12 apples", false)]
    [InlineData("면접 준비를 했어", false)]
    public void MentionsTime_Text_DetectsTimeExpressions(string text, bool expected)
    {
        Assert.Equal(expected, TimeQuestions.MentionsTime(text));
    }
}
