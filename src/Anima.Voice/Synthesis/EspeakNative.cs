using System.Runtime.InteropServices;

namespace Anima.Voice.Synthesis;

/// <summary>The part of espeak-ng's C API (speak_lib.h, libespeak-ng.so.1) that synthesis needs.</summary>
internal static unsafe partial class EspeakNative
{
    public const string Library = "libespeak-ng.so.1";
    public const int AudioOutputSynchronous = 2;
    public const int InitializeDontExit = 0x8000;
    public const int PositionCharacter = 1;
    public const uint CharsUtf8 = 1;
    public const uint EndPause = 0x1000;
    public const int ParameterRate = 1;
    public const int ParameterVolume = 2;
    public const int ParameterPitch = 3;
    public const int ParameterRange = 4;
    public const int ErrorOk = 0;

    /// <summary>int (*)(short *wav, int numsamples, espeak_EVENT *events): return 0 to go on, 1 to abort.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int SynthCallback(short* wav, int sampleCount, IntPtr events);

    [LibraryImport(Library, EntryPoint = "espeak_Initialize")]
    public static partial int Initialize(int output, int bufferMilliseconds, IntPtr path, int options);

    [LibraryImport(Library, EntryPoint = "espeak_SetSynthCallback")]
    public static partial void SetSynthCallback(IntPtr callback);

    /// <summary>Stops any synthesis and discards espeak-ng's queued text and audio state.</summary>
    [LibraryImport(Library, EntryPoint = "espeak_Cancel")]
    public static partial int Cancel();

    [LibraryImport(Library, EntryPoint = "espeak_SetVoiceByName", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetVoiceByName(string name);

    [LibraryImport(Library, EntryPoint = "espeak_SetParameter")]
    public static partial int SetParameter(int parameter, int value, int relative);

    [LibraryImport(Library, EntryPoint = "espeak_Synth")]
    public static partial int Synth(byte* text, nuint size, uint position, int positionType, uint endPosition, uint flags, IntPtr uniqueIdentifier, IntPtr userData);
}
