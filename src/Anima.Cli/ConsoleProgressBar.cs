using System.Diagnostics;
using System.Globalization;

namespace Anima.Cli;

/// <summary>
/// A progress bar for long work (training, downloads, imports). In a terminal it redraws one line in
/// place; when output is redirected it prints a plain line at most every few seconds so logs stay short.
/// Use it as an <see cref="IProgress{T}"/> of a fraction 0..1, or call <see cref="Report(double, string?)"/>.
/// </summary>
public sealed class ConsoleProgressBar : IProgress<double>, IDisposable
{
    private const int BarWidth = 30;
    private static readonly TimeSpan RedirectedInterval = TimeSpan.FromSeconds(5);
    private readonly TextWriter _writer;
    private readonly string _label;
    private readonly bool _interactive;
    private readonly Stopwatch _stopwatch = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private TimeSpan _lastDraw = TimeSpan.FromDays(-1); // not MinValue: "now - MinValue" overflows on the first report
    private double _last = -1;
    private bool _finished;

    public ConsoleProgressBar(CliContext context, string label)
    {
        ArgumentNullException.ThrowIfNull(context);
        _writer = context.Error;
        _label = label;
        _interactive = context.IsInteractive;
    }

    public void Report(double value) => Report(value, null);

    /// <summary>Shows <paramref name="fraction"/> done (clamped to 0..1) with an optional short status.</summary>
    public void Report(double fraction, string? status)
    {
        fraction = Math.Clamp(double.IsNaN(fraction) ? 0 : fraction, 0, 1);
        lock (_gate)
        {
            if (_finished)
            {
                return;
            }

            var now = _stopwatch.Elapsed;
            var minimumInterval = _interactive ? TimeSpan.FromMilliseconds(100) : RedirectedInterval;
            if (fraction < 1 && now - _lastDraw < minimumInterval && fraction - _last < 0.25)
            {
                return;
            }

            _lastDraw = now;
            _last = fraction;
            var filled = (int)Math.Round(fraction * BarWidth);
            var eta = fraction > 0.001 ? TimeSpan.FromSeconds(now.TotalSeconds * (1 - fraction) / fraction) : (TimeSpan?)null;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{_label} [{new string('#', filled)}{new string('.', BarWidth - filled)}] {fraction * 100,5:0.0}% {FormatTime(now)}{(eta is { } e && fraction < 1 ? " eta " + FormatTime(e) : string.Empty)}{(status is null ? string.Empty : "  " + status)}");
            if (_interactive)
            {
                _writer.Write("\r" + line.PadRight(Math.Max(line.Length, 100)));
            }
            else
            {
                _writer.WriteLine(line);
            }

            if (fraction >= 1)
            {
                Finish();
            }
        }
    }

    private void Finish()
    {
        if (!_finished)
        {
            _finished = true;
            if (_interactive)
            {
                _writer.WriteLine();
            }
        }
    }

    private static string FormatTime(TimeSpan time) =>
        time.TotalHours >= 1 ? time.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : time.ToString(@"m\:ss", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        lock (_gate)
        {
            Finish();
        }
    }
}
