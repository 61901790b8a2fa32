namespace Anima.Memory.Benchmarks;

/// <summary>
/// A seeded, synthetic but realistic memory history for scale tests: about three years of conversations of one
/// person, in English and Korean, mostly episodic turns with facts, preferences, plans, dated events, people and
/// reflections mixed in, vocabulary drawn from a few hundred names, places, activities, foods and feelings so that
/// common words are common and rare words are rare, as in a real history.
/// </summary>
public sealed class SyntheticHistory
{
    private static readonly string[] PeopleEnglish = ["Mina", "Jisoo", "Daniel", "Sarah", "Tom", "Emily", "Jake", "Olivia", "Noah", "Grace", "Ethan", "Chloe", "Ryan", "Hannah", "Leo", "Sophie", "Kevin", "Yuna", "Marcus", "Ava"];
    private static readonly string[] PeopleKorean = ["민지", "지수", "서준", "하은", "도윤", "수아", "예준", "지우", "현우", "서연", "민준", "유나", "엄마", "아빠", "언니", "오빠", "할머니", "팀장님", "동생", "남자친구"];
    private static readonly string[] PlacesEnglish = ["the office", "the gym", "Busan", "Seoul", "the park", "a cafe downtown", "the library", "the hospital", "Jeju", "the beach", "the airport", "the museum", "a bookstore", "the market", "the station", "the river", "the mountains", "Tokyo", "the clinic", "grandma's house"];
    private static readonly string[] PlacesKorean = ["회사", "헬스장", "부산", "서울", "공원", "카페", "도서관", "병원", "제주도", "바닷가", "공항", "박물관", "서점", "시장", "역", "한강", "산", "도쿄", "치과", "할머니 댁"];
    private static readonly string[] ActivitiesEnglish = ["running", "painting", "cooking", "reading", "hiking", "swimming", "yoga", "guitar practice", "baking", "studying for the exam", "gardening", "cycling", "photography", "writing letters", "knitting", "piano lessons", "climbing", "tennis", "dancing", "volunteering"];
    private static readonly string[] ActivitiesKorean = ["달리기", "그림 그리기", "요리", "독서", "등산", "수영", "요가", "기타 연습", "베이킹", "시험 공부", "텃밭 가꾸기", "자전거", "사진 찍기", "편지 쓰기", "뜨개질", "피아노 레슨", "클라이밍", "테니스", "춤", "봉사활동"];
    private static readonly string[] FoodsEnglish = ["kimchi stew", "pasta", "sushi", "tteokbokki", "pizza", "ramen", "bibimbap", "salad", "fried chicken", "dumplings", "curry", "pancakes", "tacos", "pho", "bulgogi"];
    private static readonly string[] FoodsKorean = ["김치찌개", "파스타", "초밥", "떡볶이", "피자", "라면", "비빔밥", "샐러드", "치킨", "만두", "카레", "팬케이크", "타코", "쌀국수", "불고기"];
    private static readonly string[] FeelingsEnglish = ["tired", "happy", "anxious", "excited", "lonely", "proud", "frustrated", "calm", "nervous", "grateful", "stressed", "relieved", "sad", "hopeful", "bored"];
    private static readonly string[] FeelingsKorean = ["피곤해", "행복해", "불안해", "신나", "외로워", "뿌듯해", "답답해", "편안해", "긴장돼", "고마워", "스트레스 받아", "안심돼", "슬퍼", "기대돼", "심심해"];
    private static readonly string[] TopicsEnglish = ["the project deadline", "a job interview", "the new manager", "moving apartments", "the wedding", "my back pain", "the budget", "a birthday party", "the exam results", "my sleep", "the vacation plan", "a fight with my brother", "the dog's vet visit", "the car repair", "the team dinner"];
    private static readonly string[] TopicsKorean = ["프로젝트 마감", "면접", "새 팀장님", "이사", "결혼식", "허리 통증", "예산", "생일 파티", "시험 결과", "잠", "휴가 계획", "동생이랑 싸운 일", "강아지 병원", "차 수리", "회식"];

    private static readonly string[] TemplatesEnglish =
    [
        "I went to {place} with {person} today and we talked about {topic}.",
        "Honestly I feel {feeling} about {topic}.",
        "{person} made {food} for dinner, it was so good.",
        "I've been doing {activity} every morning this week.",
        "Can you remind me what {person} said about {topic}?",
        "We should try {activity} at {place} sometime.",
        "I had {food} at {place} and thought of {person}.",
        "Work was long, mostly {topic}, and I'm {feeling}.",
        "{person} called me about {topic} and I felt {feeling}.",
        "That sounds lovely. How did {activity} go after {topic}?",
        "I'm glad you told me about {person}. You seem {feeling}.",
        "Maybe {activity} would help you feel less {feeling}.",
    ];

    private static readonly string[] TemplatesKorean =
    [
        "오늘 {person}랑 {place}에 갔는데 {topic} 얘기를 했어.",
        "솔직히 {topic} 때문에 좀 {feeling}.",
        "{person}가 저녁으로 {food} 해줬는데 진짜 맛있었어.",
        "이번 주에는 매일 아침 {activity} 하고 있어.",
        "{person}가 {topic}에 대해 뭐라고 했는지 기억나?",
        "언젠가 {place}에서 {activity} 해보고 싶어.",
        "{place}에서 {food} 먹었는데 {person} 생각이 났어.",
        "회사에서 하루 종일 {topic} 때문에 {feeling}.",
        "{person}한테 {topic} 때문에 전화가 왔어.",
        "좋네요. {topic} 이후에 {activity}는 어땠어요?",
        "{person} 얘기 해줘서 고마워요. 많이 {feeling} 보여요.",
        "{activity}를 해보면 덜 {feeling} 것 같아요.",
    ];

    private readonly Random _random;

    public SyntheticHistory(int seed) => _random = new Random(seed);

    /// <summary>The facts planted among the noise, each with a question that should recall it.</summary>
    public static IReadOnlyList<(string Fact, string Question)> PlantedFacts { get; } =
    [
        ("My cousin Bora started working at the aquarium in Gangneung.", "Where does Bora work now?"),
        ("I'm allergic to peaches, I found out at the clinic.", "What am I allergic to?"),
        ("Our dog Maru turned seven in March.", "How old is Maru?"),
        ("Jiho proposed to Seoyeon at the lighthouse.", "Where did Jiho propose?"),
        ("I passed the nursing license exam on my second try.", "Did I pass the nursing license exam?"),
        ("우리 고양이 이름은 까망이고 올해 세 살이야.", "까망이는 몇 살이지?"),
        ("여동생 소희가 캐나다 밴쿠버로 유학을 갔어.", "소희는 어디로 유학 갔어?"),
        ("다음 달에 대전으로 이직하기로 했어.", "이직은 어디로 하기로 했지?"),
        ("할아버지 기일은 시월 십이일이야.", "할아버지 기일이 언제야?"),
        ("우쿨렐레 동호회에 가입했어.", "내가 가입한 동호회가 뭐였지?"),
    ];

    /// <summary>One memory of <paramref name="userId"/> at <paramref name="index"/> of <paramref name="total"/> (times spread over three years before <paramref name="end"/>).</summary>
    public Memory Next(string userId, int index, int total, DateTimeOffset end)
    {
        var korean = _random.Next(2) == 0;
        var text = Fill(korean ? Pick(TemplatesKorean) : Pick(TemplatesEnglish), korean);
        var created = end - TimeSpan.FromDays(3 * 365.0 * (total - index) / total);
        var roll = _random.NextDouble();
        var kind = roll switch
        {
            < 0.80 => MemoryKind.Episodic,
            < 0.88 => MemoryKind.Fact,
            < 0.92 => MemoryKind.Preference,
            < 0.95 => MemoryKind.Event,
            < 0.97 => MemoryKind.Plan,
            < 0.99 => MemoryKind.Person,
            _ => MemoryKind.Reflection,
        };
        return new Memory
        {
            Id = Guid.CreateVersion7(created),
            UserId = userId,
            Kind = kind,
            Text = text,
            CreatedAt = created,
            EventDate = kind == MemoryKind.Event ? created.AddDays(_random.Next(1, 14)) : null,
            Provenance = [$"turn-{index}"],
            Importance = kind == MemoryKind.Episodic ? 0.2 + 0.3 * _random.NextDouble() : 0.4 + 0.6 * _random.NextDouble(),
            EmotionalWeight = _random.NextDouble(),
        };
    }

    /// <summary>A query like a user's turn: English or Korean, sharing the history's vocabulary.</summary>
    public string NextQuery()
    {
        var korean = _random.Next(2) == 0;
        return korean
            ? Fill(Pick(["{person}랑 {place}에서 뭐 했었지?", "{topic} 어떻게 됐어?", "요즘 {activity} 잘 하고 있어?", "{food} 먹고 싶다", "{person} 생각하면 {feeling}."]), korean: true)
            : Fill(Pick(["What did {person} say about {topic}?", "How did {activity} go?", "I want {food} tonight.", "Remember when we went to {place}?", "I'm {feeling} about {topic} again."]), korean: false);
    }

    private string Fill(string template, bool korean) => template
        .Replace("{person}", Pick(korean ? PeopleKorean : PeopleEnglish), StringComparison.Ordinal)
        .Replace("{place}", Pick(korean ? PlacesKorean : PlacesEnglish), StringComparison.Ordinal)
        .Replace("{activity}", Pick(korean ? ActivitiesKorean : ActivitiesEnglish), StringComparison.Ordinal)
        .Replace("{food}", Pick(korean ? FoodsKorean : FoodsEnglish), StringComparison.Ordinal)
        .Replace("{feeling}", Pick(korean ? FeelingsKorean : FeelingsEnglish), StringComparison.Ordinal)
        .Replace("{topic}", Pick(korean ? TopicsKorean : TopicsEnglish), StringComparison.Ordinal);

    // Zipf-like choice: early entries are picked far more often than late ones, as words are in real talk.
    private string Pick(string[] values) => values[(int)(values.Length * Math.Pow(_random.NextDouble(), 1.8))];
}
