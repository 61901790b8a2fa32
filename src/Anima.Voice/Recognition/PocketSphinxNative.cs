using System.Runtime.InteropServices;

namespace Anima.Voice.Recognition;

/// <summary>
/// The part of the pocketsphinx 5-prealpha C API (Debian libpocketsphinx3, libsphinxbase3) used for batch
/// decoding. Configuration goes through <c>cmd_ln_parse_r</c> with an argv array rather than the variadic
/// <c>cmd_ln_init</c>, which cannot be called safely through P/Invoke.
/// </summary>
internal static unsafe partial class PocketSphinxNative
{
    public const string Library = "libpocketsphinx.so.3";
    public const string BaseLibrary = "libsphinxbase.so.3";

    [LibraryImport(Library, EntryPoint = "ps_args")]
    public static partial IntPtr Arguments();

    [LibraryImport(BaseLibrary, EntryPoint = "cmd_ln_parse_r")]
    public static partial IntPtr ParseCommandLine(IntPtr existing, IntPtr definitions, int argumentCount, IntPtr* arguments, int strict);

    [LibraryImport(BaseLibrary, EntryPoint = "cmd_ln_free_r")]
    public static partial int FreeCommandLine(IntPtr commandLine);

    [LibraryImport(Library, EntryPoint = "ps_init")]
    public static partial IntPtr Initialize(IntPtr config);

    [LibraryImport(Library, EntryPoint = "ps_free")]
    public static partial int Free(IntPtr decoder);

    [LibraryImport(Library, EntryPoint = "ps_start_utt")]
    public static partial int StartUtterance(IntPtr decoder);

    [LibraryImport(Library, EntryPoint = "ps_process_raw")]
    public static partial int ProcessRaw(IntPtr decoder, short* data, nuint sampleCount, int noSearch, int fullUtterance);

    [LibraryImport(Library, EntryPoint = "ps_end_utt")]
    public static partial int EndUtterance(IntPtr decoder);

    [LibraryImport(Library, EntryPoint = "ps_get_hyp")]
    public static partial IntPtr GetHypothesis(IntPtr decoder, out int bestScore);
}
