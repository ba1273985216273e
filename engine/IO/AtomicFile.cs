namespace Kiln.IO;

/// <summary>
/// Writes a file whole or not at all: into a temporary file beside it, then renamed over it, so a crash or an error
/// mid-write never leaves a torn file; the temporary file is removed when writing fails.
/// </summary>
internal static class AtomicFile
{
    /// <param name="path">The file to replace.</param>
    /// <param name="write">Writes the contents.</param>
    /// <param name="flushToDisk">Flush to the disk before the rename (checkpoints: survive a power cut), not only to the OS.</param>
    /// <param name="perProcess">Name the temporary file by the process id too (caches that several processes may write at once).</param>
    public static void Write(string path, Action<Stream> write, bool flushToDisk = false, bool perProcess = false)
    {
        var tmp = perProcess ? $"{path}.{Environment.ProcessId}.tmp" : $"{path}.tmp";
        try
        {
            using (var stream = File.Create(tmp))
            {
                write(stream);
                stream.Flush(flushToDisk);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
