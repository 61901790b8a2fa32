namespace Anima.Core.Accounts;

/// <summary>A local account. The first account of an installation is its administrator.</summary>
public sealed record UserAccount(string Id, string Username, bool IsAdmin, DateTimeOffset CreatedAt);

/// <summary>Accounts, their sessions (cookie or bearer; only a hash of each token is stored) and installation settings.</summary>
public interface IAccountStore
{
    /// <summary>Creates the account, or returns null when the username is taken.</summary>
    Task<UserAccount?> CreateUserAsync(string username, string passwordHash, DateTimeOffset createdAt, CancellationToken cancellationToken = default);

    Task<(UserAccount Account, string PasswordHash)?> FindByUsernameAsync(string username, CancellationToken cancellationToken = default);

    Task CreateSessionAsync(string tokenHash, string userId, string kind, DateTimeOffset createdAt, DateTimeOffset expiresAt, CancellationToken cancellationToken = default);

    /// <summary>The account of a live session, or null when the session is unknown or expired.</summary>
    Task<UserAccount?> FindSessionAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken = default);

    Task DeleteSessionAsync(string tokenHash, CancellationToken cancellationToken = default);

    Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default);

    Task SetSettingAsync(string key, string? value, CancellationToken cancellationToken = default);
}
