namespace Anima.Perception;

/// <summary>
/// The GoEmotions taxonomy (27 emotions + neutral) that every reading uses, the valence/arousal
/// value of each label, and the mapping of KOTE's 44 Korean labels onto it.
/// The reasons for each value and mapping are written out in docs/PERCEPTION.md.
/// </summary>
public static class EmotionTaxonomy
{
    /// <summary>The number of GoEmotions labels (27 emotions + neutral).</summary>
    public const int LabelCount = 28;

    /// <summary>The index of <c>neutral</c>.</summary>
    public const int NeutralIndex = 27;

    /// <summary>The number of KOTE labels.</summary>
    public const int KoteLabelCount = 44;

    /// <summary>GoEmotions labels in the order of its labels.txt (the ids used by the data files).</summary>
    public static IReadOnlyList<string> Labels { get; } =
    [
        "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity",
        "desire", "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear",
        "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride", "realization", "relief",
        "remorse", "sadness", "surprise", "neutral",
    ];

    /// <summary>
    /// Valence of each label on −1..1 (unpleasant..pleasant), in label order. Set by us on the
    /// circumplex model of affect (Russell, 1980), guided by the NRC VAD lexicon (Mohammad, 2018)
    /// entries for the label words, rounded to 0.05; neutral is 0 by definition.
    /// </summary>
    public static IReadOnlyList<float> Valence { get; } =
    [
        0.75f, 0.80f, -0.70f, -0.55f, 0.55f, 0.60f, -0.25f, 0.30f,
        0.40f, -0.60f, -0.50f, -0.75f, -0.50f, 0.80f, -0.75f,
        0.80f, -0.90f, 0.90f, 0.90f, -0.45f, 0.65f, 0.70f, 0.05f, 0.55f,
        -0.65f, -0.80f, 0.10f, 0.00f,
    ];

    /// <summary>Arousal of each label on 0..1 (calm..activated), in label order; same sources as <see cref="Valence"/>.</summary>
    public static IReadOnlyList<float> Arousal { get; } =
    [
        0.50f, 0.65f, 0.85f, 0.65f, 0.35f, 0.35f, 0.50f, 0.60f,
        0.70f, 0.35f, 0.45f, 0.60f, 0.60f, 0.90f, 0.85f,
        0.40f, 0.40f, 0.70f, 0.60f, 0.75f, 0.50f, 0.60f, 0.40f, 0.25f,
        0.40f, 0.25f, 0.85f, 0.30f,
    ];

    /// <summary>KOTE labels in the order of its labels.txt.</summary>
    public static IReadOnlyList<string> KoteLabels { get; } =
    [
        "불평/불만", "환영/호의", "감동/감탄", "지긋지긋", "고마움", "슬픔", "화남/분노", "존경", "기대감",
        "우쭐댐/무시함", "안타까움/실망", "비장함", "의심/불신", "뿌듯함", "편안/쾌적", "신기함/관심", "아껴주는",
        "부끄러움", "공포/무서움", "절망", "한심함", "역겨움/징그러움", "짜증", "어이없음", "없음", "패배/자기혐오",
        "귀찮음", "힘듦/지침", "즐거움/신남", "깨달음", "죄책감", "증오/혐오", "흐뭇함(귀여움/예쁨)", "당황/난처",
        "경악", "부담/안_내킴", "서러움", "재미없음", "불쌍함/연민", "놀람", "행복", "불안/걱정", "기쁨", "안심/신뢰",
    ];

    private static readonly int[][] KoteMapping =
    [
        [3, 10],   // 불평/불만 complaint → annoyance, disapproval
        [4, 5],    // 환영/호의 welcome, goodwill → approval, caring
        [0],       // 감동/감탄 moved, marvelling → admiration
        [3, 11],   // 지긋지긋 fed up → annoyance, disgust
        [15],      // 고마움 thanks → gratitude
        [25],      // 슬픔 sadness → sadness
        [2],       // 화남/분노 anger → anger
        [0],       // 존경 respect → admiration
        [20],      // 기대감 anticipation → optimism
        [10],      // 우쭐댐/무시함 smugness, contempt → disapproval
        [9],       // 안타까움/실망 regret, disappointment → disappointment
        [],        // 비장함 grim resolve: no counterpart
        [6],       // 의심/불신 doubt, distrust → confusion (GoEmotions: "uncertainty")
        [21],      // 뿌듯함 proud satisfaction → pride
        [23],      // 편안/쾌적 ease, comfort → relief
        [7],       // 신기함/관심 wonder, interest → curiosity
        [5],       // 아껴주는 cherishing → caring
        [12],      // 부끄러움 shame, shyness → embarrassment
        [14],      // 공포/무서움 fear → fear
        [25],      // 절망 despair → sadness
        [10],      // 한심함 pathetic → disapproval
        [11],      // 역겨움/징그러움 disgust → disgust
        [3],       // 짜증 irritation → annoyance
        [3],       // 어이없음 exasperated disbelief → annoyance
        [27],      // 없음 none → neutral
        [25],      // 패배/자기혐오 defeat, self-loathing → sadness
        [3],       // 귀찮음 bothered → annoyance
        [25],      // 힘듦/지침 hardship, exhaustion → sadness
        [13, 17],  // 즐거움/신남 fun, thrill → excitement, joy
        [22],      // 깨달음 realization → realization
        [24],      // 죄책감 guilt → remorse
        [2, 11],   // 증오/혐오 hatred → anger, disgust
        [0, 18],   // 흐뭇함(귀여움/예쁨) fond delight (cute, pretty) → admiration, love
        [12, 6],   // 당황/난처 flustered, awkward → embarrassment, confusion
        [26],      // 경악 shock → surprise
        [19],      // 부담/안_내킴 burdened, reluctant → nervousness
        [25],      // 서러움 aggrieved sorrow → sadness
        [],        // 재미없음 boredom: no counterpart
        [5],       // 불쌍함/연민 pity, compassion → caring
        [26],      // 놀람 surprise → surprise
        [17],      // 행복 happiness → joy
        [19],      // 불안/걱정 anxiety, worry → nervousness
        [17],      // 기쁨 joy → joy
        [23],      // 안심/신뢰 relief, trust → relief
    ];

    /// <summary>The GoEmotions label ids that KOTE label <paramref name="koteLabel"/> maps onto (possibly none).</summary>
    public static ReadOnlySpan<int> MapKoteLabel(int koteLabel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(koteLabel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(koteLabel, KoteLabelCount);
        return KoteMapping[koteLabel];
    }

    /// <summary>Maps a set of KOTE label ids onto sorted, distinct GoEmotions label ids.</summary>
    public static int[] MapKoteLabels(IEnumerable<int> koteLabels)
    {
        ArgumentNullException.ThrowIfNull(koteLabels);
        var mapped = new SortedSet<int>();
        foreach (var label in koteLabels)
        {
            foreach (var target in MapKoteLabel(label))
            {
                mapped.Add(target);
            }
        }

        return [.. mapped];
    }
}
