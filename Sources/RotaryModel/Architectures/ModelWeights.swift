import RotaryNumerics

/// All weights of a model, as views into the memory-mapped file in their stored formats (nothing is
/// expanded: resident memory is the file's pages the passes touch). Only vectors (norms, biases) stored
/// in a non-F32 format are copied to F32, since they are tiny and the kernels read them as floats.
public final class ModelWeights: @unchecked Sendable {   // immutable after init
    /// By role; optional tensors the file lacks are absent, a tied output is absent too (see `matrix`).
    private let matrices: [ModelTensor: WeightMatrix]
    public let isTied: Bool
    /// In file order.
    public let tensors: [ModelTensor]
    private let file: GGUFFile
    private let owned: FloatCopies

    init(file: GGUFFile, configuration c: ModelConfiguration) throws(GGUFError) {
        self.file = file
        let present: (ModelTensor) -> Bool = { file.tensor($0.ggufName) != nil }
        tensors = ModelTensor.all(c, present: present)
        isTied = !present(.output)
        var matrices: [ModelTensor: WeightMatrix] = [:]
        let owned = FloatCopies()   // freed with the weights, or here if loading fails
        for tensor in tensors {
            let name = tensor.ggufName
            guard let info = file.tensor(name) else { throw GGUFError("tensor \(name) is missing") }
            let expected = tensor.ggufDims(c)
            guard info.dims == expected else { throw GGUFError("tensor \(name) has dims \(info.dims), expected \(expected)") }
            let (rows, columns) = tensor.shape(c)
            if !tensor.isMatrix && !(info.type == .f32 && info.offset % 4 == 0) {
                let copy = UnsafeMutableBufferPointer<Float>.allocate(capacity: info.elementCount)
                info.type.dequantize(file.bytes.base + info.offset, count: info.elementCount, into: copy.baseAddress!)
                owned.buffers.append(copy)
                matrices[tensor] = WeightMatrix(UnsafePointer(copy.baseAddress!), rows: rows, columns: columns)
            } else {
                matrices[tensor] = WeightMatrix(base: file.bytes.base + info.offset, format: info.type, rows: rows, columns: columns)
            }
        }
        self.matrices = matrices
        self.owned = owned
    }

    /// The tensor's view, or nil when the model has no such tensor (the output of a tied model is its token embedding).
    public func matrix(_ tensor: ModelTensor) -> WeightMatrix? {
        if tensor == .output && isTied { return matrices[.tokenEmbedding] }
        return matrices[tensor]
    }

    /// Parameters counted once (a tied output matrix is not counted twice).
    public var parameterCount: Int {
        tensors.reduce(0) { total, tensor in
            let m = matrices[tensor]!
            return total + m.rows * m.columns
        }
    }

    /// Bytes of weights as stored.
    public var storedBytes: Int {
        tensors.reduce(0) { total, tensor in total + file.tensor(tensor.ggufName)!.byteCount }
    }

    /// Tensor count per format name, e.g. `["Q4_1": 210, "F32": 61, "Q8_0": 1]`.
    public var formatCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for tensor in tensors { counts[file.tensor(tensor.ggufName)!.type.name, default: 0] += 1 }
        return counts
    }
}

/// F32 copies a model owns.
private final class FloatCopies {
    var buffers: [UnsafeMutableBufferPointer<Float>] = []
    deinit { buffers.forEach { $0.deallocate() } }
}
