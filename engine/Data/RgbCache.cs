namespace Kiln.Data;

/// <summary>A thread-safe least-recently-used cache of decoded 8-bit RGB images, bounded in bytes.</summary>
sealed class RgbCache
{
    readonly long capacity;
    readonly Dictionary<int, LinkedListNode<(int Key, (byte[] Rgb, int Height, int Width) Image)>> map = new();
    readonly LinkedList<(int Key, (byte[] Rgb, int Height, int Width) Image)> order = new();
    long bytes;

    public RgbCache(long capacityBytes) => capacity = Math.Max(0, capacityBytes);

    public bool TryGet(int key, out (byte[] Rgb, int Height, int Width) image)
    {
        lock (map)
        {
            if (map.TryGetValue(key, out var node))
            {
                order.Remove(node);
                order.AddFirst(node);
                image = node.Value.Image;
                return true;
            }
        }
        image = default;
        return false;
    }

    public void Add(int key, (byte[] Rgb, int Height, int Width) image)
    {
        if (image.Rgb.Length > capacity) return;
        lock (map)
        {
            if (map.ContainsKey(key)) return;
            map[key] = order.AddFirst((key, image));
            bytes += image.Rgb.Length;
            while (bytes > capacity && order.Last is { } last)
            {
                order.RemoveLast();
                map.Remove(last.Value.Key);
                bytes -= last.Value.Image.Rgb.Length;
            }
        }
    }
}
