using System.Buffers;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;

namespace Anima.Core.Mind;

/// <summary>
/// The buffers of streamed replies. A reply holds its buffers for its whole stream (a second or more), so buffers that
/// the shared pool could not keep (it keeps a few per size per core; hundreds of replies stream at once under load)
/// were new arrays that lived long enough to be promoted and copied by the collector. This pool keeps enough of them.
/// </summary>
internal static class MindBuffers
{
    public static ArrayPool<byte> Pool { get; } = ArrayPool<byte>.Create(maxArrayLength: 4 * 1024 * 1024, maxArraysPerBucket: 1024);

    /// <summary>Replaces <paramref name="buffer"/> with a pooled one of at least <paramref name="size"/> bytes, keeping its first <paramref name="keep"/> bytes.</summary>
    public static void Grow(ref byte[] buffer, int keep, int size)
    {
        var larger = Pool.Rent(size);
        buffer.AsSpan(0, keep).CopyTo(larger);
        Pool.Return(buffer);
        buffer = larger;
    }
}

internal enum SseEventKind
{
    Data = 0,
    Done = 1,
    EndOfStream = 2,
}

/// <summary>One server-sent event: its kind, and whether it was named <c>error</c>; its data is <see cref="SseLineReader.Data"/>.</summary>
internal readonly record struct SseEvent(SseEventKind Kind, bool IsErrorEvent);

/// <summary>
/// Reads server-sent events (the <c>text/event-stream</c> format) from a stream into pooled buffers: lines end with
/// LF or CRLF, <c>data:</c> lines of one event are joined with LF, a blank line ends the event, comments and other
/// fields are skipped, and <c>data: [DONE]</c> (OpenAI's end marker) is its own kind. A line longer than
/// <see cref="OpenAiCompatibleChatClient.MaximumLineBytes"/> is refused rather than buffered without bound.
/// </summary>
internal sealed class SseLineReader : IDisposable
{
    private byte[] _buffer = MindBuffers.Pool.Rent(4096);
    private int _start;
    private int _end;
    private byte[] _data = MindBuffers.Pool.Rent(1024);
    private int _dataLength;
    private bool _ended;

    /// <summary>The data of the event last returned (valid until the next read).</summary>
    public ReadOnlySpan<byte> Data => _data.AsSpan(0, _dataLength);

    // A streamed reply reads one event per piece of text, most of them after a wait: pooled state machines.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SseEvent> ReadEventAsync(Stream stream, CancellationToken cancellationToken)
    {
        _dataLength = 0;
        var hasData = false;
        var errorEvent = false;
        while (true)
        {
            var newline = _ended ? -1 : _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0 || (_ended && _end > _start))
            {
                var length = newline >= 0 ? newline : _end - _start;
                var lineLength = length > 0 && _buffer[_start + length - 1] == '\r' ? length - 1 : length;
                var lineStart = _start;
                _start += newline >= 0 ? newline + 1 : length;
                if (lineLength == 0)
                {
                    if (hasData)
                    {
                        return Dispatch(errorEvent);
                    }

                    errorEvent = false;
                    continue;
                }

                TakeLine(_buffer.AsSpan(lineStart, lineLength), ref hasData, ref errorEvent);
                continue;
            }

            if (_ended)
            {
                // The stream ended: an event not closed by a blank line still counts.
                return hasData ? Dispatch(errorEvent) : new SseEvent(SseEventKind.EndOfStream, false);
            }

            MakeRoom();
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                _ended = true;
                continue;
            }

            _end += read;
        }
    }

    private SseEvent Dispatch(bool errorEvent) =>
        Data.SequenceEqual("[DONE]"u8) ? new SseEvent(SseEventKind.Done, false) : new SseEvent(SseEventKind.Data, errorEvent);

    private void TakeLine(ReadOnlySpan<byte> line, ref bool hasData, ref bool errorEvent)
    {
        if (line[0] == ':')
        {
            return;
        }

        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (value.Length > 0 && value[0] == ' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            var needed = _dataLength + (hasData ? 1 : 0) + value.Length;
            if (needed > _data.Length)
            {
                MindBuffers.Grow(ref _data, _dataLength, Math.Max(needed, _data.Length * 2));
            }

            if (hasData)
            {
                _data[_dataLength++] = (byte)'\n';
            }

            value.CopyTo(_data.AsSpan(_dataLength));
            _dataLength += value.Length;
            hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            errorEvent = value.SequenceEqual("error"u8);
        }
    }

    /// <summary>Moves the unread bytes to the front, or grows the buffer when one line fills it.</summary>
    private void MakeRoom()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end < _buffer.Length)
        {
            return;
        }

        if (_buffer.Length >= OpenAiCompatibleChatClient.MaximumLineBytes)
        {
            throw new InvalidDataException($"The mind streamed a line longer than {OpenAiCompatibleChatClient.MaximumLineBytes / 1024} KiB.");
        }

        MindBuffers.Grow(ref _buffer, _end, _buffer.Length * 2);
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            MindBuffers.Pool.Return(_buffer);
            MindBuffers.Pool.Return(_data);
            _buffer = [];
            _data = [];
        }
    }
}

/// <summary>A request body written by a <see cref="System.Text.Json.Utf8JsonWriter"/> into pooled arrays, returned on dispose.</summary>
internal sealed class PooledJsonBody : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = MindBuffers.Pool.Rent(8192);
    private int _written;

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _written);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public HttpContent ToContent(MediaTypeHeaderValue mediaType)
    {
        var content = new ReadOnlyMemoryContent(Written);
        content.Headers.ContentType = mediaType;
        return content;
    }

    private void Ensure(int sizeHint)
    {
        if (_buffer.Length - _written >= Math.Max(sizeHint, 256))
        {
            return;
        }

        MindBuffers.Grow(ref _buffer, _written, Math.Max(_buffer.Length * 2, _written + Math.Max(sizeHint, 256)));
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            MindBuffers.Pool.Return(_buffer);
            _buffer = [];
        }
    }
}
