namespace Keyroom.Cli.Output;

/// <summary>A plain text table: a header row and left-aligned columns separated by two spaces.</summary>
internal static class Table
{
    public static void Write(TextWriter writer, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string?>> rows, string emptyText)
    {
        var materialized = rows.Select(r => r.Select(Clean).ToArray()).ToList();
        if (materialized.Count == 0)
        {
            writer.WriteLine(emptyText);
            return;
        }

        var widths = headers.Select(h => h.Length).ToArray();
        foreach (var row in materialized)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        WriteRow(writer, headers, widths);
        foreach (var row in materialized)
        {
            WriteRow(writer, row, widths);
        }
    }

    /// <summary>Label/value lines, aligned; fields without a value are left out.</summary>
    public static void WriteFields(TextWriter writer, params (string Label, string? Value)[] fields)
    {
        var width = fields.Max(f => f.Label.Length) + 1;
        foreach (var (label, value) in fields)
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            writer.WriteLine((label + ":").PadRight(width + 1) + Clean(value));
        }
    }

    public static string Time(DateTimeOffset? value) =>
        value?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) ?? "";

    private static void WriteRow(TextWriter writer, IReadOnlyList<string> cells, int[] widths)
    {
        var parts = cells.Select((cell, i) => i == cells.Count - 1 ? cell : cell.PadRight(widths[i]));
        writer.WriteLine(string.Join("  ", parts).TrimEnd());
    }

    private static string Clean(string? text) => (text ?? "").ReplaceLineEndings(" ");
}
