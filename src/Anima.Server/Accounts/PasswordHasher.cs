using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

namespace Anima.Server.Accounts;

/// <summary>
/// Argon2id password hashes in the PHC string format
/// (<c>$argon2id$v=19$m=19456,t=2,p=1$salt$hash</c>), so parameters can be raised later without
/// invalidating stored hashes. Defaults are OWASP's minimum recommendation for Argon2id.
/// </summary>
public sealed class PasswordHasher(PasswordHasherOptions options)
{
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public PasswordHasher()
        : this(new PasswordHasherOptions())
    {
    }

    public string Hash(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Compute(password, salt, options.MemoryKiB, options.Iterations, options.Parallelism, HashBytes);
        return string.Create(CultureInfo.InvariantCulture,
            $"$argon2id$v=19$m={options.MemoryKiB},t={options.Iterations},p={options.Parallelism}${Convert.ToBase64String(salt).TrimEnd('=')}${Convert.ToBase64String(hash).TrimEnd('=')}");
    }

    public bool Verify(string password, string encoded)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(encoded);
        var parts = encoded.Split('$');
        if (parts is not ["", "argon2id", "v=19", var parameters, var saltText, var hashText])
        {
            return false;
        }

        int memory = 0, iterations = 0, parallelism = 0;
        foreach (var pair in parameters.Split(','))
        {
            var (key, value) = (pair[..pair.IndexOf('=', StringComparison.Ordinal)], int.Parse(pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture));
            _ = key switch
            {
                "m" => memory = value,
                "t" => iterations = value,
                "p" => parallelism = value,
                _ => 0,
            };
        }

        var salt = FromBase64(saltText);
        var expected = FromBase64(hashText);
        var actual = Compute(password, salt, memory, iterations, parallelism, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static byte[] Compute(string password, byte[] salt, int memoryKiB, int iterations, int parallelism, int length)
    {
        using var argon = new Argon2id(Encoding.UTF8.GetBytes(password))
        {
            Salt = salt,
            MemorySize = memoryKiB,
            Iterations = iterations,
            DegreeOfParallelism = parallelism,
        };
        return argon.GetBytes(length);
    }

    private static byte[] FromBase64(string text) =>
        Convert.FromBase64String(text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '='));
}

/// <summary>Argon2id cost parameters.</summary>
public sealed class PasswordHasherOptions
{
    public const string SectionName = "Anima:Accounts:PasswordHash";

    /// <summary>OWASP's minimum memory for Argon2id with two passes.</summary>
    public const int RecommendedMemoryKiB = 19_456;

    /// <summary>
    /// Memory in KiB (default 19,456 = 19 MiB, OWASP's minimum for Argon2id). Lower values are accepted
    /// (down to 64) only so that load benchmarks can create thousands of accounts; the server warns at start.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(64, 4_194_304)]
    public int MemoryKiB { get; set; } = RecommendedMemoryKiB;

    /// <summary>Passes over memory (default 2).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 100)]
    public int Iterations { get; set; } = 2;

    /// <summary>Lanes (default 1).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 64)]
    public int Parallelism { get; set; } = 1;

    public bool IsBelowRecommendation => MemoryKiB < RecommendedMemoryKiB || Iterations < 2;
}
