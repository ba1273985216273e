using Kiln.Training;
using ScottPlot;

namespace Kiln.Cli.Reports;

/// <summary>The PNG plots of <c>kiln train</c> (ScottPlot): loss curve, latent scatter, decision boundary.</summary>
internal static class Plots
{
    /// <summary>Every step's training loss and each epoch's test loss, against epochs (log scale when the loss spans decades).</summary>
    public static void LossCurve(string path, IReadOnlyList<(double Epoch, double Loss)> steps, IReadOnlyList<EpochMetrics> epochs)
    {
        var plot = new Plot();
        bool log = steps.Count > 0 && steps.Where(s => s.Loss > 0).Select(s => s.Loss).DefaultIfEmpty(1).Max()
            > 100 * steps.Where(s => s.Loss > 0).Select(s => s.Loss).DefaultIfEmpty(1).Min();
        double Y(double v) => log ? Math.Log10(Math.Max(v, 1e-12)) : v;
        if (steps.Count > 0)
        {
            var train = plot.Add.Scatter(steps.Select(s => s.Epoch).ToArray(), steps.Select(s => Y(s.Loss)).ToArray());
            train.LegendText = "training step loss";
            train.MarkerSize = 0;
            train.LineWidth = 1;
        }
        if (epochs.Count > 0)
        {
            var test = plot.Add.Scatter(epochs.Select(e => (double)e.Epoch).ToArray(), epochs.Select(e => Y(e.TestLoss)).ToArray());
            test.LegendText = "test loss";
            test.MarkerSize = 7;
            test.LineWidth = 2;
        }
        plot.XLabel("epoch");
        plot.YLabel(log ? "loss (log10)" : "loss");
        plot.ShowLegend();
        plot.SavePng(path, 900, 500);
    }

    /// <summary>2-D latent codes of the test set, one colour per class.</summary>
    public static void LatentScatter(string path, float[] latent, int[] labels, int classes, IReadOnlyList<string>? classNames = null)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int c = 0; c < Math.Max(1, classes); c++)
        {
            var idx = Enumerable.Range(0, labels.Length).Where(i => classes == 0 || labels[i] == c).ToArray();
            if (idx.Length == 0) continue;
            var s = plot.Add.ScatterPoints(idx.Select(i => (double)latent[2 * i]).ToArray(), idx.Select(i => (double)latent[2 * i + 1]).ToArray());
            s.Color = palette.GetColor(c).WithAlpha(0.6);
            s.MarkerSize = 4;
            s.LegendText = classNames != null && c < classNames.Count ? classNames[c] : $"class {c}";
        }
        plot.XLabel("latent 0");
        plot.YLabel("latent 1");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 900, 800);
    }

    /// <summary>
    /// The classifier's probability of class 1 (sigmoid of the logit) over a grid covering the points, blue (0) to
    /// red (1), with the points on top coloured by class (navy 0, dark red 1).
    /// </summary>
    public static void DecisionBoundary(string path, Func<float[], int, float[]> predict, float[] points, int[] labels)
    {
        const int n = 200;
        double lo = -6, hi = 6;
        for (int i = 0; i < points.Length; i++)
        {
            lo = Math.Min(lo, points[i] - 0.5);
            hi = Math.Max(hi, points[i] + 0.5);
        }
        var grid = new float[2 * n * n];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                grid[2 * (r * n + c)] = (float)(lo + (hi - lo) * (c + 0.5) / n);
                grid[2 * (r * n + c) + 1] = (float)(hi - (hi - lo) * (r + 0.5) / n); // row 0 at the top
            }
        var logits = predict(grid, n * n);
        var p = new double[n, n];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
                p[r, c] = 1 / (1 + Math.Exp(-logits[r * n + c]));
        var plot = new Plot();
        var map = plot.Add.Heatmap(p);
        map.Extent = new CoordinateRect(lo, hi, lo, hi);
        map.Colormap = new ScottPlot.Colormaps.Balance();
        map.Opacity = 0.7;
        foreach (var (label, color) in new[] { (0, Colors.Navy), (1, Colors.DarkRed) })
        {
            var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == label).ToArray();
            if (idx.Length == 0) continue;
            var s = plot.Add.ScatterPoints(idx.Select(i => (double)points[2 * i]).ToArray(), idx.Select(i => (double)points[2 * i + 1]).ToArray());
            s.Color = color;
            s.MarkerSize = 5;
            s.LegendText = $"class {label}";
        }
        plot.Axes.SetLimits(lo, hi, lo, hi);
        plot.ShowLegend();
        plot.SavePng(path, 800, 800);
    }
}
