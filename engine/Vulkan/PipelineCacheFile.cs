using System.Security.Cryptography;

namespace Kiln.Vulkan;

/// <summary>
/// The VkPipelineCache on disk: one file per device, named by its pipeline-cache UUID and driver version,
/// behind a header of Kiln's own (magic, vendor, device, driver version, UUID, length, SHA-256). A file
/// that is corrupt or from another device or driver is ignored with a warning, never handed to the driver.
/// </summary>
internal static class PipelineCacheFile
{
    static ReadOnlySpan<byte> Magic => "KILNPC01"u8;
    const int HeaderBytes = 8 + 4 + 4 + 4 + 16 + 8 + 32;

    public static string? ResolveDirectory(string? configured)
    {
        if (configured != null) return configured.Length == 0 ? null : configured;
        var env = Environment.GetEnvironmentVariable("KILN_CACHE_DIR");
        if (env != null) return env.Length == 0 ? null : env;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "kiln");
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "kiln");
    }

    public static string FileName(DeviceInfo d) => $"pipelines-{d.PipelineCacheUuid:N}-{d.DriverVersion:x8}.bin";

    public static byte[] Wrap(DeviceInfo d, ReadOnlySpan<byte> data)
    {
        var result = new byte[HeaderBytes + data.Length];
        var s = result.AsSpan();
        Magic.CopyTo(s);
        BitConverter.TryWriteBytes(s[8..], d.VendorId);
        BitConverter.TryWriteBytes(s[12..], d.DeviceId);
        BitConverter.TryWriteBytes(s[16..], d.DriverVersion);
        d.PipelineCacheUuid.TryWriteBytes(s[20..36]);
        BitConverter.TryWriteBytes(s[36..], (long)data.Length);
        SHA256.HashData(data, s[44..76]);
        data.CopyTo(s[HeaderBytes..]);
        return result;
    }

    /// <summary>The cache data inside <paramref name="file"/>, or null with the reason it was rejected.</summary>
    public static byte[]? Unwrap(DeviceInfo d, ReadOnlySpan<byte> file, out string? rejected)
    {
        rejected = null;
        if (file.Length < HeaderBytes || !file[..8].SequenceEqual(Magic)) { rejected = "not a Kiln pipeline cache"; return null; }
        if (BitConverter.ToUInt32(file[8..]) != d.VendorId || BitConverter.ToUInt32(file[12..]) != d.DeviceId)
        { rejected = "written for another device"; return null; }
        if (BitConverter.ToUInt32(file[16..]) != d.DriverVersion) { rejected = "written by another driver version"; return null; }
        if (new Guid(file[20..36]) != d.PipelineCacheUuid) { rejected = "written for another pipeline-cache UUID"; return null; }
        long length = BitConverter.ToInt64(file[36..]);
        if (length != file.Length - HeaderBytes) { rejected = "truncated"; return null; }
        var data = file[HeaderBytes..];
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(data, hash);
        if (!hash.SequenceEqual(file[44..76])) { rejected = "checksum mismatch (corrupt)"; return null; }
        return data.ToArray();
    }
}
