using Anima.Abstractions;

namespace Anima.Core.Prompting;

/// <summary>Reads the feeling in a user's message; the reading is stored with the message and shapes the reply.</summary>
public interface IMessagePerceiver
{
    /// <summary>The reading, or null when nothing can be read (an unknown language, say).</summary>
    PerceivedEmotion? Perceive(string text);
}
