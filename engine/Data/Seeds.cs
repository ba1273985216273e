namespace Kiln.Data;

/// <summary>
/// Deterministic seed mixing (SplitMix64 finaliser): the same inputs give the same seed in every process,
/// unlike <see cref="HashCode"/>, which is randomised per process.
/// </summary>
static class Seeds
{
    public static int Mix(int a, int b, int c = 0)
    {
        ulong z = (ulong)(uint)a * 0x9E3779B97F4A7C15UL ^ ((ulong)(uint)b << 32 | (uint)c);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        z += (ulong)(uint)c * 0xD6E8FEB86659FD93UL;
        z = (z ^ (z >> 29)) * 0xBF58476D1CE4E5B9UL;
        return (int)(z ^ (z >> 32));
    }
}
