using System.Collections.Concurrent;

namespace Anima.Server.Accounts;

/// <summary>
/// Slows password guessing: after <see cref="FreeAttempts"/> failures for one username (from anywhere),
/// or <see cref="FreeAttemptsPerAddress"/> from one address (for any username: a household or office
/// shares one address, so that bound is looser), each further attempt must wait twice as long as the
/// last, up to <see cref="MaximumDelay"/>. A success clears the username's count.
/// </summary>
public sealed class SignInThrottle(TimeProvider timeProvider)
{
    public const int FreeAttempts = 5;
    public const int FreeAttemptsPerAddress = 50;
    public static readonly TimeSpan MaximumDelay = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromHours(1);
    private readonly ConcurrentDictionary<string, Failures> _failures = new(StringComparer.Ordinal);

    /// <summary>How long the caller must still wait before trying, or zero.</summary>
    public TimeSpan RetryAfter(string username, string? address)
    {
        var now = timeProvider.GetUtcNow();
        return Max(Wait(UserKey(username), now, FreeAttempts), address is null ? TimeSpan.Zero : Wait(AddressKey(address), now, FreeAttemptsPerAddress));
    }

    public void RecordFailure(string username, string? address)
    {
        var now = timeProvider.GetUtcNow();
        Record(UserKey(username), now);
        if (address is not null)
        {
            Record(AddressKey(address), now);
        }

        if (_failures.Count > 100_000)
        {
            foreach (var (key, value) in _failures)
            {
                if (now - value.Last > ForgetAfter)
                {
                    _failures.TryRemove(key, out _);
                }
            }
        }
    }

    public void RecordSuccess(string username) => _failures.TryRemove(UserKey(username), out _);

    private void Record(string key, DateTimeOffset now) =>
        _failures.AddOrUpdate(key, _ => new Failures(1, now), (_, old) => now - old.Last > ForgetAfter ? new Failures(1, now) : new Failures(old.Count + 1, now));

    private TimeSpan Wait(string key, DateTimeOffset now, int free)
    {
        if (!_failures.TryGetValue(key, out var failures) || failures.Count < free)
        {
            return TimeSpan.Zero;
        }

        var delay = TimeSpan.FromSeconds(Math.Min(MaximumDelay.TotalSeconds, Math.Pow(2, failures.Count - free)));
        var remaining = failures.Last + delay - now;
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    private static TimeSpan Max(TimeSpan left, TimeSpan right) => left > right ? left : right;

    private static string UserKey(string username) => "u:" + username.ToUpperInvariant();

    private static string AddressKey(string address) => "a:" + address;

    private sealed record Failures(int Count, DateTimeOffset Last);
}
