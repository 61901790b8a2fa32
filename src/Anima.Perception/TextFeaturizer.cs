using System.Globalization;
using System.Text;

namespace Anima.Perception;

/// <summary>How text becomes a sparse feature vector; stored inside the model so training and inference agree.</summary>
public sealed record FeaturizerOptions
{
    /// <summary>Default number of hash bits: 2^18 buckets keeps the model a few MB with no measurable loss (see docs).</summary>
    public const int DefaultBucketBits = 18;

    /// <summary>log2 of the number of hashed feature buckets (10..24).</summary>
    public int BucketBits { get; init; } = DefaultBucketBits;

    /// <summary>Shortest character n-gram taken inside a word padded with &lt; and &gt;.</summary>
    public int CharacterMinimum { get; init; } = 2;

    /// <summary>Longest character n-gram.</summary>
    public int CharacterMaximum { get; init; } = 5;

    /// <summary>Weight of the (L2-normalized) word unigram + bigram group.</summary>
    public float WordWeight { get; init; } = 1f;

    /// <summary>Weight of the (L2-normalized) character n-gram group.</summary>
    public float CharacterWeight { get; init; } = 1f;

    public int BucketCount => 1 << BucketBits;

    public void Validate()
    {
        if (BucketBits is < 10 or > 24)
        {
            throw new ArgumentOutOfRangeException(nameof(BucketBits), BucketBits, "Bucket bits must be from 10 to 24.");
        }

        if (CharacterMinimum < 1 || CharacterMaximum < CharacterMinimum || CharacterMaximum > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(CharacterMaximum), $"Character n-gram range {CharacterMinimum}..{CharacterMaximum} must lie within 1..8.");
        }

        if (!(WordWeight >= 0) || !(CharacterWeight >= 0) || WordWeight + CharacterWeight <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(WordWeight), "Group weights must be non-negative and not both zero.");
        }
    }
}

/// <summary>Counts of letters by script, found while featurizing; the basis of language detection.</summary>
public readonly record struct ScriptCounts(int Hangul, int Latin, int OtherLetters, int Emoji, int LatinWords, int KnownLatinWords);

/// <summary>
/// Reusable per-thread buffers of one featurization: the sparse vector (sorted distinct bucket
/// indices with values) and what was seen of the text's scripts.
/// </summary>
public sealed class FeatureBuffer
{
    private const int MaximumTokenLength = 48;
    internal int[] Words = new int[64];
    internal int WordCount;
    internal int[] Characters = new int[512];
    internal int CharacterCount;
    internal ulong[] LatinWordHashes = new ulong[64];
    internal int LatinWordCount;
    internal readonly char[] Token = new char[MaximumTokenLength + 2];
    internal int[] Indices = new int[512];
    internal float[] Values = new float[512];

    /// <summary>Number of non-zero features.</summary>
    public int Count { get; internal set; }

    public ReadOnlySpan<int> FeatureIndices => Indices.AsSpan(0, Count);

    public ReadOnlySpan<float> FeatureValues => Values.AsSpan(0, Count);

    public ScriptCounts Scripts { get; internal set; }

    internal static int TokenCapacity => MaximumTokenLength;

    internal ReadOnlySpan<ulong> LatinWords => LatinWordHashes.AsSpan(0, LatinWordCount);

    internal void Reset()
    {
        WordCount = 0;
        CharacterCount = 0;
        LatinWordCount = 0;
        Count = 0;
        Scripts = default;
    }

    internal static void Append<T>(ref T[] array, ref int count, T value)
    {
        if (count == array.Length)
        {
            Array.Resize(ref array, array.Length * 2);
        }

        array[count++] = value;
    }
}

/// <summary>
/// Turns text (any language) into hashed word unigrams and bigrams, punctuation/emoticon runs,
/// single emoji, and character n-grams inside words (fastText-style, padded with &lt; &gt;).
/// Each group is counted, sub-linearly scaled (1 + ln count), L2-normalized and weighted.
/// The hash is our own 64-bit FNV-1a with a final avalanche, so features are stable across
/// processes and platforms (string.GetHashCode is randomized per process).
/// </summary>
public sealed class TextFeaturizer
{
    private const ulong WordSeed = 0x9E3779B97F4A7C15;
    private const ulong CharacterSeed = 0xC2B2AE3D27D4EB4F;
    private const ulong BigramSeed = 0x165667B19E3779F9;
    private readonly int _shift;

    public TextFeaturizer(FeaturizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _shift = 64 - options.BucketBits;
    }

    public FeaturizerOptions Options { get; }

    /// <summary>The stable hash of one lower-cased word, as used for the English vocabulary check.</summary>
    public static ulong HashWord(ReadOnlySpan<char> word) => Finish(Step(WordSeed, word));

    /// <summary>
    /// Featurizes <paramref name="text"/> into <paramref name="buffer"/>; <paramref name="vocabulary"/>
    /// (sorted word hashes) is used to count known Latin-script words.
    /// </summary>
    public void Extract(string text, FeatureBuffer buffer, ReadOnlySpan<ulong> vocabulary = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(buffer);
        buffer.Reset();
        if (!text.AsSpan().IsWhiteSpace() && !Ascii.IsValid(text))
        {
            text = text.Normalize(NormalizationForm.FormKC);
        }

        int hangul = 0, latin = 0, other = 0, emoji = 0;
        var token = buffer.Token;
        var tokenLength = 0;
        var tokenIsLatin = true;
        ulong previous = 0;
        var punctuation = new PunctuationRun();
        Span<char> pair = stackalloc char[2];

        foreach (var rune in text.EnumerateRunes())
        {
            var value = rune.Value;
            if (IsIgnorable(value))
            {
                continue;
            }

            var category = Rune.GetUnicodeCategory(rune);
            var isWordCharacter = Rune.IsLetterOrDigit(rune)
                || category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
                || (tokenLength > 0 && value is '\'' or '\u2019');
            if (isWordCharacter)
            {
                if (punctuation.Length > 0)
                {
                    previous = EmitToken(punctuation.AsSpan(), previous, buffer);
                    punctuation = default;
                }

                if (Rune.IsLetter(rune))
                {
                    if (IsHangul(value))
                    {
                        hangul++;
                        tokenIsLatin = false;
                    }
                    else if (IsLatin(value))
                    {
                        latin++;
                    }
                    else
                    {
                        other++;
                        tokenIsLatin = false;
                    }
                }

                if (tokenLength <= FeatureBuffer.TokenCapacity - 2)
                {
                    var lower = Rune.ToLowerInvariant(rune);
                    tokenLength += lower.EncodeToUtf16(token.AsSpan(tokenLength));
                }

                continue;
            }

            if (tokenLength > 0)
            {
                previous = EmitWord(token.AsSpan(0, tokenLength), tokenIsLatin, previous, buffer, vocabulary);
                tokenLength = 0;
                tokenIsLatin = true;
            }

            if (Rune.IsWhiteSpace(rune) || Rune.IsControl(rune))
            {
                if (punctuation.Length > 0)
                {
                    previous = EmitToken(punctuation.AsSpan(), previous, buffer);
                    punctuation = default;
                }

                continue;
            }

            if (IsEmojiLike(value, category))
            {
                if (punctuation.Length > 0)
                {
                    previous = EmitToken(punctuation.AsSpan(), previous, buffer);
                    punctuation = default;
                }

                emoji++;
                var written = rune.EncodeToUtf16(pair);
                previous = EmitToken(pair[..written], previous, buffer);
                continue;
            }

            if (value <= char.MaxValue)
            {
                punctuation.Add((char)value);
            }
        }

        if (tokenLength > 0)
        {
            EmitWord(token.AsSpan(0, tokenLength), tokenIsLatin, previous, buffer, vocabulary);
        }
        else if (punctuation.Length > 0)
        {
            EmitToken(punctuation.AsSpan(), previous, buffer);
        }

        var known = 0;
        if (!vocabulary.IsEmpty)
        {
            foreach (var hash in buffer.LatinWords)
            {
                if (vocabulary.BinarySearch(hash) >= 0)
                {
                    known++;
                }
            }
        }

        buffer.Scripts = new ScriptCounts(hangul, latin, other, emoji, buffer.LatinWordCount, known);
        Combine(buffer);
    }

    private ulong EmitWord(ReadOnlySpan<char> word, bool isLatin, ulong previous, FeatureBuffer buffer, ReadOnlySpan<ulong> vocabulary)
    {
        // Trailing apostrophes ("dogs'") carry no meaning of their own.
        while (word.Length > 1 && word[^1] is '\'' or '\u2019')
        {
            word = word[..^1];
        }

        var hash = HashWord(word);
        if (isLatin && !vocabulary.IsEmpty && !IsAllDigits(word))
        {
            FeatureBuffer.Append(ref buffer.LatinWordHashes, ref buffer.LatinWordCount, hash);
        }

        AddWordFeatures(hash, previous, buffer);
        AddCharacterNgrams(word, buffer);
        return hash;
    }

    private ulong EmitToken(ReadOnlySpan<char> token, ulong previous, FeatureBuffer buffer)
    {
        var hash = HashWord(token);
        AddWordFeatures(hash, previous, buffer);
        return hash;
    }

    private void AddWordFeatures(ulong hash, ulong previous, FeatureBuffer buffer)
    {
        FeatureBuffer.Append(ref buffer.Words, ref buffer.WordCount, Bucket(hash));
        if (previous != 0)
        {
            var bigram = Mix((previous * BigramSeed) ^ hash);
            FeatureBuffer.Append(ref buffer.Words, ref buffer.WordCount, Bucket(bigram));
        }
    }

    private void AddCharacterNgrams(ReadOnlySpan<char> word, FeatureBuffer buffer)
    {
        Span<char> padded = stackalloc char[word.Length + 2];
        padded[0] = '<';
        word.CopyTo(padded[1..]);
        padded[^1] = '>';
        var minimum = Options.CharacterMinimum;
        var maximum = Options.CharacterMaximum;
        for (var start = 0; start < padded.Length; start++)
        {
            var hash = CharacterSeed;
            var end = Math.Min(padded.Length, start + maximum);
            for (var position = start; position < end; position++)
            {
                hash = Step(hash, padded[position]);
                var length = position - start + 1;
                if (length >= minimum && !(length == 1 && padded[position] is '<' or '>'))
                {
                    FeatureBuffer.Append(ref buffer.Characters, ref buffer.CharacterCount, Bucket(Finish(hash)));
                }
            }
        }
    }

    /// <summary>Counts each group, scales 1 + ln(count), L2-normalizes it, weights it, and merges both into the sorted output.</summary>
    private void Combine(FeatureBuffer buffer)
    {
        var words = buffer.Words.AsSpan(0, buffer.WordCount);
        var characters = buffer.Characters.AsSpan(0, buffer.CharacterCount);
        words.Sort();
        characters.Sort();
        var capacity = words.Length + characters.Length;
        if (buffer.Indices.Length < capacity)
        {
            buffer.Indices = new int[Math.Max(capacity, buffer.Indices.Length * 2)];
            buffer.Values = new float[buffer.Indices.Length];
        }

        var wordNorm = GroupNorm(words);
        var characterNorm = GroupNorm(characters);
        var wordScale = wordNorm > 0 ? Options.WordWeight / wordNorm : 0f;
        var characterScale = characterNorm > 0 ? Options.CharacterWeight / characterNorm : 0f;

        int wordIndex = 0, characterIndex = 0, count = 0;
        var indices = buffer.Indices;
        var values = buffer.Values;
        while (wordIndex < words.Length || characterIndex < characters.Length)
        {
            var nextWord = wordIndex < words.Length ? words[wordIndex] : int.MaxValue;
            var nextCharacter = characterIndex < characters.Length ? characters[characterIndex] : int.MaxValue;
            var bucket = Math.Min(nextWord, nextCharacter);
            var value = 0f;
            if (nextWord == bucket)
            {
                value += wordScale * Sublinear(RunLength(words, ref wordIndex));
            }

            if (nextCharacter == bucket)
            {
                value += characterScale * Sublinear(RunLength(characters, ref characterIndex));
            }

            if (value != 0f)
            {
                indices[count] = bucket;
                values[count] = value;
                count++;
            }
        }

        buffer.Count = count;
    }

    private static float GroupNorm(ReadOnlySpan<int> sortedBuckets)
    {
        var sum = 0.0;
        var index = 0;
        while (index < sortedBuckets.Length)
        {
            var weight = Sublinear(RunLength(sortedBuckets, ref index));
            sum += weight * weight;
        }

        return (float)Math.Sqrt(sum);
    }

    private static int RunLength(ReadOnlySpan<int> sorted, ref int index)
    {
        var start = index;
        var value = sorted[index];
        while (index < sorted.Length && sorted[index] == value)
        {
            index++;
        }

        return index - start;
    }

    private static float Sublinear(int count) => 1f + MathF.Log(count);

    private int Bucket(ulong hash) => (int)(hash >> _shift);

    private static ulong Step(ulong hash, ReadOnlySpan<char> text)
    {
        foreach (var character in text)
        {
            hash = Step(hash, character);
        }

        return hash;
    }

    private static ulong Step(ulong hash, char character) => (hash ^ character) * 0x100000001B3UL;

    private static ulong Finish(ulong hash) => Mix(hash ^ 0xCBF29CE484222325UL);

    /// <summary>The 64-bit finalizer of MurmurHash3, so that the top bits (the bucket) depend on every input bit.</summary>
    private static ulong Mix(ulong hash)
    {
        hash ^= hash >> 33;
        hash *= 0xFF51AFD7ED558CCDUL;
        hash ^= hash >> 33;
        hash *= 0xC4CEB9FE1A85EC53UL;
        hash ^= hash >> 33;
        return hash == 0 ? 1 : hash;
    }

    private static bool IsAllDigits(ReadOnlySpan<char> word)
    {
        foreach (var character in word)
        {
            if (!char.IsAsciiDigit(character))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Variation selectors, zero-width joiners and skin-tone modifiers only decorate an emoji.</summary>
    private static bool IsIgnorable(int value) =>
        value is (>= 0xFE00 and <= 0xFE0F) or 0x200D or 0x200C or 0x200B or 0xFEFF or (>= 0x1F3FB and <= 0x1F3FF) or (>= 0xE0020 and <= 0xE007F);

    internal static bool IsHangul(int value) =>
        value is (>= 0xAC00 and <= 0xD7A3) or (>= 0x1100 and <= 0x11FF) or (>= 0x3130 and <= 0x318F) or (>= 0xA960 and <= 0xA97F) or (>= 0xD7B0 and <= 0xD7FF);

    internal static bool IsLatin(int value) =>
        value is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= 0x00C0 and <= 0x024F and not 0xD7 and not 0xF7) or (>= 0x1E00 and <= 0x1EFF);

    private static bool IsEmojiLike(int value, UnicodeCategory category) =>
        category is UnicodeCategory.OtherSymbol
        || value is (>= 0x1F000 and <= 0x1FAFF) or (>= 0x2600 and <= 0x27BF) or 0x2764;

    /// <summary>A run of punctuation such as "!!!" or ":)" kept as one token, at most four characters, a character repeated at most twice.</summary>
    private struct PunctuationRun
    {
        private const int Capacity = 4;
        private char _first;
        private char _second;
        private char _third;
        private char _fourth;

        public int Length { get; private set; }

        public void Add(char character)
        {
            if (Length >= Capacity || (Length >= 2 && Get(Length - 1) == character && Get(Length - 2) == character))
            {
                return;
            }

            switch (Length)
            {
                case 0: _first = character; break;
                case 1: _second = character; break;
                case 2: _third = character; break;
                default: _fourth = character; break;
            }

            Length++;
        }

        private readonly char Get(int index) => index switch { 0 => _first, 1 => _second, 2 => _third, _ => _fourth };

        public readonly ReadOnlySpan<char> AsSpan()
        {
            var characters = new char[Length];
            for (var index = 0; index < Length; index++)
            {
                characters[index] = Get(index);
            }

            return characters;
        }
    }
}
