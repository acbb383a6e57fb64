using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keyroom.Bench;

/// <summary>One table cell: a target at a concurrency, measured several times; the median run is reported.</summary>
internal sealed class Cell(string section, string target, int concurrency, string unit)
{
    public string Section { get; } = section;

    public string Target { get; } = target;

    public int Concurrency { get; } = concurrency;

    public string Unit { get; } = unit;

    public List<Measurement> Runs { get; } = [];

    /// <summary>Time spent after each run committing audit entries the run queued (added to that run's seconds).</summary>
    public List<double> DrainSeconds { get; } = [];

    public string? Skipped { get; set; }

    public long Errors => Runs.Sum(r => r.Errors);

    public bool Failed => Errors > 0;

    public bool HasData => Runs.Count > 0 && !Failed;

    /// <summary>The run with the median rate (the lower middle one for an even count).</summary>
    public Measurement? Median => Runs.Count == 0 ? null : Runs.OrderBy(r => r.Rate).ElementAt((Runs.Count - 1) / 2);

    public double Rate => Median?.Rate ?? double.NaN;

    /// <summary>The median over runs of process CPU per operation.</summary>
    public double CpuMicrosPerOp => Runs.Count == 0 ? double.NaN : Runs.Select(r => r.CpuMicrosPerOp).Order().ElementAt((Runs.Count - 1) / 2);

    public string? FirstError => Runs.Select(r => r.FirstError).FirstOrDefault(e => e is not null);

    public JsonObject ToJson() => new()
    {
        ["section"] = Section,
        ["target"] = Target,
        ["concurrency"] = Concurrency,
        ["unit"] = Unit,
        ["median_rate"] = Finite(Rate),
        ["runs"] = new JsonArray([.. Runs.Select(r => (JsonNode)new JsonObject
        {
            ["rate"] = Finite(r.Rate),
            ["completed"] = r.Completed,
            ["seconds"] = Math.Round(r.Seconds, 3),
            ["p50_ms"] = Finite(r.P50),
            ["p99_ms"] = Finite(r.P99),
            ["cpu_us_per_op"] = Finite(r.CpuMicrosPerOp),
            ["errors"] = r.Errors,
        })]),
        ["drain_seconds"] = new JsonArray([.. DrainSeconds.Select(d => (JsonNode)Math.Round(d, 4))]),
        ["p50_ms"] = Finite(Median?.P50 ?? double.NaN),
        ["p99_ms"] = Finite(Median?.P99 ?? double.NaN),
        ["cpu_us_per_op"] = Finite(CpuMicrosPerOp),
        ["errors"] = Errors,
        ["first_error"] = FirstError,
        ["skipped"] = Skipped,
    };

    internal static JsonNode? Finite(double value) => double.IsFinite(value) ? Math.Round(value, 3) : null;
}

/// <summary>One summary line: a measured value against its baseline and target.</summary>
/// <param name="Name">A short key.</param>
/// <param name="Text">The line, without verdict.</param>
/// <param name="Pass">The verdict against the target; null when there is none.</param>
/// <param name="Note">Printed after the verdict (supporting numbers).</param>
/// <param name="Json">The same, for latest.json.</param>
internal sealed record SummaryLine(string Name, string Text, bool? Pass, string Note, JsonObject Json)
{
    public string Render() => Text + Pass switch
    {
        true => " PASS",
        false => " MISS",
        null => string.Empty,
    } + Note;
}

/// <summary>Prints tables and the summary, and writes the JSON file.</summary>
internal static class Report
{
    public static string F(double value, string format = "0") =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";

    public static string N(double value) => double.IsFinite(value) ? value.ToString("#,0", CultureInfo.InvariantCulture) : "-";

    public static void PrintTable(string title, IEnumerable<Cell> cells)
    {
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine("== " + title);
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{"conc",5}  {"target",-18} {"rate/s",10}  {"runs (rate/s)",-26} {"p50 ms",7} {"p99 ms",7} {"cpu us/op",9} {"errors",7}  {"audit drain s",13}"));
        foreach (var cell in cells)
        {
            if (cell.Skipped is not null && cell.Runs.Count == 0)
            {
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{cell.Concurrency,5}  {cell.Target,-18} skipped: {cell.Skipped}"));
                continue;
            }

            var runs = string.Join(" / ", cell.Runs.Select(r => N(r.Rate)));
            var drain = cell.DrainSeconds.Count > 0 ? string.Join("/", cell.DrainSeconds.Select(d => F(d, "0.000"))) : "-";
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{cell.Concurrency,5}  {cell.Target,-18} {N(cell.Rate),10}  {runs,-26} {F(cell.Median?.P50 ?? double.NaN, "0.00"),7} {F(cell.Median?.P99 ?? double.NaN, "0.00"),7} {N(cell.CpuMicrosPerOp),9} {cell.Errors,7}  {drain,13}"));
            if (cell.Failed)
            {
                text.AppendLine("       FAILED: " + cell.FirstError);
            }
        }

        Console.Write(text.ToString());
    }

    /// <summary>A ratio line, e.g. <c>REST get c=16: keyroom 12345 rps, baseline 13000 rps, ratio 0.95 (target &gt;= 0.80) PASS</c>.</summary>
    public static SummaryLine Ratio(string name, Cell measured, Cell baseline, string measuredLabel, string baselineLabel, string unit, double? target)
    {
        var ok = measured.HasData && baseline.HasData;
        var paired = ok && measured.Runs.Count == baseline.Runs.Count && measured.Runs.Count > 1;
        var ratio = !ok ? double.NaN : paired ? PairedRatio(measured, baseline) : measured.Rate / baseline.Rate;
        var cpuRatio = ok ? baseline.CpuMicrosPerOp / measured.CpuMicrosPerOp : double.NaN;
        var text = ok
            ? $"{name}: {measuredLabel} {N(measured.Rate)} {unit}, {baselineLabel} {N(baseline.Rate)} {unit}, ratio {F(ratio, "0.00")}"
                + (paired ? $" (median of {measured.Runs.Count} same-run ratios)" : string.Empty)
                + (target is { } t ? $" (target >= {F(t, "0.00")})" : " (no target)")
            : $"{name}: not measured ({Why(measured) ?? Why(baseline)})";
        var cpuNote = ok ? $" [cpu/op {N(measured.CpuMicrosPerOp)} vs {N(baseline.CpuMicrosPerOp)} us, efficiency ratio {F(cpuRatio, "0.00")}]" : string.Empty;
        bool? pass = target is { } goal ? ok && ratio >= goal : null;
        if (!ok && target is not null)
        {
            pass = false;
        }

        return new SummaryLine(name, text, pass, cpuNote, new JsonObject
        {
            ["name"] = name,
            ["measured"] = measuredLabel,
            ["measured_rate"] = Cell.Finite(ok ? measured.Rate : double.NaN),
            ["baseline"] = baselineLabel,
            ["baseline_rate"] = Cell.Finite(ok ? baseline.Rate : double.NaN),
            ["unit"] = unit,
            ["ratio"] = Cell.Finite(ratio),
            ["measured_cpu_us_per_op"] = Cell.Finite(ok ? measured.CpuMicrosPerOp : double.NaN),
            ["baseline_cpu_us_per_op"] = Cell.Finite(ok ? baseline.CpuMicrosPerOp : double.NaN),
            ["cpu_efficiency_ratio"] = Cell.Finite(cpuRatio),
            ["target_min_ratio"] = target,
            ["pass"] = pass,
        });
    }

    /// <summary>
    /// The median over runs of measured ÷ baseline within the same run. The two were measured moments apart, so
    /// drift in what else the machine is doing cancels out of each ratio; medians taken per target do not pair
    /// runs and let one target's good run meet the other's bad one.
    /// </summary>
    private static double PairedRatio(Cell measured, Cell baseline)
    {
        var ratios = measured.Runs.Zip(baseline.Runs, (m, b) => m.Rate / b.Rate).Order().ToArray();
        return ratios.Length % 2 == 1 ? ratios[ratios.Length / 2] : (ratios[(ratios.Length / 2) - 1] + ratios[ratios.Length / 2]) / 2;
    }

    public static string? Why(Cell cell) =>
        cell.Failed ? $"{cell.Target} c={cell.Concurrency} failed: {cell.FirstError}" : cell.Skipped ?? (cell.Runs.Count == 0 ? "no runs" : null);

    public static void Write(string path, JsonObject document)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(path, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
