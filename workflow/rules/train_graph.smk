# train_graph stage (being written)


def train_graph_targets():
    return []
