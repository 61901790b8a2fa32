using System.Diagnostics.Tracing;

namespace Anima.Core.Diagnostics;

/// <summary>
/// Records how long the runtime stopped this process's threads for each garbage collection (from the runtime's
/// own GC events: suspension begins → threads restarted), so a slow turn can be told apart from a GC pause.
/// Listens to the GC keyword at the informational level only: a handful of events per collection.
/// </summary>
public sealed class GcPauseMonitor : EventListener
{
    private static readonly Lazy<GcPauseMonitor> ProcessMonitor = new(() => new GcPauseMonitor());

    private GcPauseMonitor()
    {
    }

    /// <summary>
    /// The process's one monitor (GC pauses are the process's, whatever host asks). One listener for the process's
    /// lifetime, never disposed: creating an EventListener while another is being disposed can deadlock inside the
    /// runtime (its listener lock and its EventPipe dispatcher lock are taken in opposite orders), which test
    /// processes that start and stop many hosts at once, each with Orleans' own listener, ran into.
    /// </summary>
    public static GcPauseMonitor Shared => ProcessMonitor.Value;

    private const int SuspendBegin = 9; // GCSuspendEEBegin_V1
    private const int RestartEnd = 3; // GCRestartEEEnd_V1
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private DateTime _suspendedAt;

    public LatencyHistogram Pauses { get; } = new();

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Informational, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        // Runtime events reach listeners on one dispatching thread, in order; the time stamps are the events' own.
        switch (eventData.EventId)
        {
            case SuspendBegin:
                _suspendedAt = eventData.TimeStamp;
                break;
            case RestartEnd when _suspendedAt != default:
                Pauses.Record(eventData.TimeStamp - _suspendedAt);
                _suspendedAt = default;
                break;
        }
    }
}
