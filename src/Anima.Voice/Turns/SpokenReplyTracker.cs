using System.Text;

namespace Anima.Voice.Turns;

/// <summary>The part of a reply the user actually heard before interrupting it.</summary>
/// <param name="Text">The heard text: whole sentences, then the words of the sentence in progress up to the cut.</param>
/// <param name="IsComplete">True when everything synthesized so far was heard.</param>
public sealed record HeardReply(string Text, bool IsComplete);

/// <summary>
/// Remembers which sentence of a reply occupies which stretch of the played audio, so that on barge-in the reply
/// can be stored as interrupted up to what was actually heard (not what was generated) and the next prompt can
/// tell the mind where it was cut off. Within a sentence the cut is placed proportionally to its length in
/// characters, at a word boundary. Thread-safe.
/// </summary>
public sealed class SpokenReplyTracker
{
    private readonly List<(string Text, TimeSpan Start, TimeSpan Duration)> _sentences = [];
    private readonly Lock _gate = new();
    private TimeSpan _total;

    /// <summary>The length of all audio added so far.</summary>
    public TimeSpan TotalDuration
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    /// <summary>Adds the next sentence with the duration of its synthesized audio.</summary>
    public void AddSentence(string text, TimeSpan audioDuration)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (audioDuration < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(audioDuration), audioDuration, "Audio duration cannot be negative.");
        }

        lock (_gate)
        {
            _sentences.Add((text, _total, audioDuration));
            _total += audioDuration;
        }
    }

    /// <summary>What had been heard after <paramref name="played"/> of the reply's audio.</summary>
    public HeardReply HeardAt(TimeSpan played)
    {
        lock (_gate)
        {
            var heard = new StringBuilder();
            foreach (var (text, start, duration) in _sentences)
            {
                if (played >= start + duration)
                {
                    Append(heard, text);
                    continue;
                }

                if (played > start && duration > TimeSpan.Zero)
                {
                    var fraction = (played - start) / duration;
                    var cut = (int)Math.Floor(text.Length * fraction);
                    while (cut > 0 && cut < text.Length && !char.IsWhiteSpace(text[cut]))
                    {
                        cut--;
                    }

                    Append(heard, text[..cut].TrimEnd());
                }

                return new HeardReply(heard.ToString(), false);
            }

            return new HeardReply(heard.ToString(), true);
        }
    }

    private static void Append(StringBuilder heard, string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        if (heard.Length > 0)
        {
            heard.Append(' ');
        }

        heard.Append(text);
    }
}
