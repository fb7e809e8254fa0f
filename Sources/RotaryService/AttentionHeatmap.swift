/// The SVG answer of `/attention` for `Accept: image/svg+xml`: one heatmap panel of weights per head,
/// axis labels, a colour scale. Large matrices are averaged into blocks so the picture stays small.
enum AttentionHeatmap {
    /// Most cells drawn over all panels.
    static let maxCells = 65_536

    /// - Parameters:
    ///   - weights: `[heads][rows][columns]`
    ///   - rowLabels, columnLabels: one per row/column (positions or token pieces)
    static func render(weights: [Float], heads: Int, rows: Int, columns: Int, rowLabels: [String], columnLabels: [String],
                       title: String) -> String {
        let (blockRows, blockColumns, drawnRows, drawnColumns) = grid(heads: heads, rows: rows, columns: columns)
        let cell = max(2, min(14, 420 / Double(max(drawnRows, drawnColumns))))
        let panelWidth = cell * Double(drawnColumns), panelHeight = cell * Double(drawnRows)
        let perLine = min(heads, 4)
        let left = 90.0, top = 56.0, gapX = 56.0, gapY = 70.0, legendWidth = 70.0
        let width = left + Double(perLine) * (panelWidth + gapX) + legendWidth
        let lines = (heads + perLine - 1) / perLine
        let height = top + Double(lines) * (panelHeight + gapY) + 10
        var svg = SVG(width: width, height: height)
        svg.text(title, x: left, y: 24, size: 15, weight: "bold")
        if blockRows > 1 || blockColumns > 1 {
            svg.text("each cell averages \(blockRows) × \(blockColumns) weights", x: left, y: 42, size: 11)
        }
        let maximum = Double(weights.max() ?? 1)
        for h in 0..<heads {
            let x0 = left + Double(h % perLine) * (panelWidth + gapX)
            let y0 = top + Double(h / perLine) * (panelHeight + gapY)
            svg.text(heads > 1 ? "head \(h)" : "weights", x: x0 + panelWidth / 2, y: y0 - 6, size: 12, anchor: "middle")
            for r in 0..<drawnRows {
                for c in 0..<drawnColumns {
                    var sum = 0.0, count = 0.0
                    for i in (r * blockRows)..<min(rows, (r + 1) * blockRows) {
                        for j in (c * blockColumns)..<min(columns, (c + 1) * blockColumns) {
                            sum += Double(weights[(h * rows + i) * columns + j]); count += 1
                        }
                    }
                    let value = sum / max(count, 1)
                    svg.rect(x: x0 + Double(c) * cell, y: y0 + Double(r) * cell, width: cell, height: cell,
                             fill: SVG.viridis(maximum > 0 ? value / maximum : 0))
                }
            }
            svg.rect(x: x0, y: y0, width: panelWidth, height: panelHeight, fill: "none", extra: " stroke=\"#333\"")
            for r in labelIndices(drawnRows) {
                svg.text(label(rowLabels, r * blockRows), x: x0 - 4, y: y0 + (Double(r) + 0.7) * cell, size: 9, anchor: "end")
            }
            for c in labelIndices(drawnColumns) {
                let x = x0 + (Double(c) + 0.5) * cell, y = y0 + panelHeight + 10
                svg.text(label(columnLabels, c * blockColumns), x: x, y: y, size: 9, anchor: "end", rotate: -45)
            }
            svg.text("key", x: x0 + panelWidth / 2, y: y0 + panelHeight + 52, size: 11, anchor: "middle")
            if h % perLine == 0 {
                svg.text("query", x: x0 - 62, y: y0 + panelHeight / 2, size: 11, anchor: "middle", rotate: -90)
            }
        }
        // Colour scale.
        let barX = width - legendWidth + 10, barHeight = min(200, max(panelHeight, 80))
        for step in 0..<50 {
            let t = 1 - Double(step) / 50
            svg.rect(x: barX, y: top + Double(step) * barHeight / 50, width: 14, height: barHeight / 50 + 0.5, fill: SVG.viridis(t))
        }
        svg.text(SVG.number(maximum), x: barX + 18, y: top + 8, size: 9)
        svg.text("0", x: barX + 18, y: top + barHeight, size: 9)
        svg.text("weight", x: barX, y: top - 8, size: 10)
        return svg.document
    }

    /// Source cells per drawn cell (block) and drawn cells per panel, so all panels draw at most `maxCells`.
    private static func grid(heads: Int, rows: Int, columns: Int) -> (blockRows: Int, blockColumns: Int, drawnRows: Int, drawnColumns: Int) {
        let side = max(1, Int((Double(maxCells) / Double(heads)).squareRoot()))
        let blockRows = (rows + side - 1) / side, blockColumns = (columns + side - 1) / side
        return (blockRows, blockColumns, (rows + blockRows - 1) / blockRows, (columns + blockColumns - 1) / blockColumns)
    }

    /// An upper bound on the bytes `render` writes, from the shapes alone (for `max_response_bytes`).
    /// - Parameters:
    ///   - labelBytes: the longest row or column label, in UTF-8 bytes.
    ///   - titleBytes: the title's length in UTF-8 bytes.
    static func maxBytes(heads: Int, rows: Int, columns: Int, labelBytes: Int, titleBytes: Int) -> Int {
        // One <rect> or <text> element with every number at its longest (24 characters) and the
        // longest fixed attributes; text is escaped at up to six bytes a byte (&quot;).
        let rect = 192, text = 320
        let (_, _, drawnRows, drawnColumns) = grid(heads: heads, rows: rows, columns: columns)
        let labels = labelIndices(drawnRows).count + labelIndices(drawnColumns).count
        let panel = drawnRows * drawnColumns * rect + rect + labels * (text + 6 * labelBytes) + 3 * text
        return 512 + text + 6 * titleBytes + 2 * text + heads * panel + 50 * rect + 3 * text
    }

    /// At most ~12 evenly spaced drawn indices to label.
    private static func labelIndices(_ count: Int) -> [Int] {
        Array(stride(from: 0, to: count, by: max(1, (count + 11) / 12)))
    }

    private static func label(_ labels: [String], _ index: Int) -> String {
        guard index < labels.count else { return "" }
        let text = labels[index]
        return text.count > 12 ? String(text.prefix(11)) + "…" : text
    }
}

/// The SVG answer of `/attention/decay`: both curves, scaled to 1 at distance 0, against distance.
enum DecayPlot {
    static func render(distance: [Int], upperBound: [Double], meanDot: [Double], headDim: Int, theta: Double) -> String {
        let dotScale = meanDot.first.map { $0 != 0 ? $0 : 1 } ?? 1
        let xs = distance.map(Double.init)
        return LinePlot.render(
            title: "RoPE long-term decay (head_dim \(headDim), θ = \(SVG.number(theta)))",
            xLabel: "relative distance m − n", yLabel: "value / value at distance 0",
            series: [.init(name: "relative upper bound", points: Array(zip(xs, upperBound))),
                     .init(name: "mean q·k (random q = k)", points: Array(zip(xs, meanDot.map { $0 / dotScale })))])
    }
}
